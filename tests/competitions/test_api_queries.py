"""The API's lists cost a bounded number of queries, not some per row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from tests.competitions.builders import make_scored
from tests.factories import ChallengeFactory, ParticipantFactory, PhaseFactory

pytestmark = pytest.mark.django_db


def _counts(api) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as listing:
        assert api.get(reverse("api:challenges")).status_code == 200
    with CaptureQueriesContext(connection) as mine:
        assert api.get(reverse("api:submissions")).status_code == 200
    return len(listing), len(mine)


@pytest.fixture
def grow():
    """Counts with one phase (and one submission in it), then with six."""
    challenge = ChallengeFactory()
    participant = ParticipantFactory(team__challenge=challenge)
    api = APIClient()
    api.force_authenticate(participant.user)
    make_scored(PhaseFactory(challenge=challenge), participant, auroc=0.8)
    one = _counts(api)
    for _ in range(5):
        make_scored(PhaseFactory(challenge=challenge), participant, auroc=0.8)
    return one, _counts(api)


def test_my_submissions_cost_the_same_queries_for_one_or_six(grow):
    (_, one), (_, six) = grow
    assert one == six


def test_the_challenge_list_looks_up_boards_primary_columns_and_quota_per_challenge(grow):
    (one, _), (six, _) = grow
    # Only the design arms' leaderboard filter (a hook of the surveys app) asks once per phase.
    assert six - one == 5
