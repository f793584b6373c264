"""schemathesis against our own OpenAPI schema (``/api/schema/``), in process through the WSGI
app: generated requests, valid and not, to every operation, as a participant with a token.
No answer may be a 5xx, and every answer must be one the schema documents, with the documented
content type and body shape. The examples are bounded so the whole run stays well under a
minute."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cheetah.wsgi import application
from competitions import services
from competitions.models import Leaderboard
from tests.conftest import score_now, upload

EXAMPLES = 25  # per operation and kind of path: about 20 s in all
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]


@pytest.fixture
def api_schema(db, monkeypatch):
    # The test's data lives in a transaction that the WSGI app's end-of-request hooks would close
    # (Django's own test client unhooks it the same way).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    # Hundreds of requests from one address and one token in a second: lift the rates (the
    # throttles have their own test) and start from an empty count.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "100000/minute",
                                                               "anon": "100000/minute"})
    cache.clear()
    yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def token(participant) -> str:
    return Token.objects.create(user=participant.user).key


@pytest.fixture
def real_parameters(open_phase, participant, good_predictions) -> dict[str, object]:
    """Path parameters that name real objects, so the requests reach past the 404s into the
    views, serializers and services (a scored submission, so results are in the answers)."""
    submission = services.submission_create(phase=open_phase, user=participant.user,
                                            upload=upload(good_predictions))
    score_now(submission)
    return {
        "slug": open_phase.challenge.slug,
        "phase": open_phase.slug,
        "board": Leaderboard.objects.filter(phase=open_phase).first().slug,
        "id": submission.pk,
        "pk": submission.pk,
    }


def test_the_api_answers_every_generated_request_as_its_schema_says(
    api_schema, token, real_parameters
):
    """Operation by operation, with drawn and with real path parameters (schemathesis' pytest
    plugin does not load under pytest 9, so the strategies run under hypothesis here)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 7
    for operation in operations:
        drawn = operation.as_strategy()
        for strategy in (drawn, drawn.map(lambda case: _with(case, real_parameters))):

            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def call(case):
                case.call_and_validate(headers={"Authorization": f"Token {token}"},
                                       checks=CHECKS)

            call()


def _with(case, real: dict[str, object]):
    if case.path_parameters:
        case.path_parameters = {name: real.get(name, value)
                                for name, value in case.path_parameters.items()}
    return case
