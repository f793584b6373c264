"""The post-survey announcement runs in a real Celery worker on the configured broker: after the
phase ends, the consenting participant gets a notice and one e-mail (console backend: printed in
the worker's log), and a second run sends nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from surveys import services, tasks
from surveys.models import Survey, SurveyNotice
from tests.e2e.conftest import wait_for
from tests.factories import ParticipantFactory, PhaseFactory
from tests.surveys.conftest import ALL_YES, ConsentVersionFactory, StudyFactory, SurveyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_worker_announces_a_post_survey_once(celery_worker_process):
    study = StudyFactory()
    version = ConsentVersionFactory(study=study)
    phase = PhaseFactory(
        challenge=study.challenge,
        start=timezone.now() - timedelta(days=5),
        end=timezone.now() - timedelta(minutes=5),
    )
    survey = SurveyFactory(study=study, slug="post", trigger=Survey.Trigger.PHASE_END, phase=phase)
    user = ParticipantFactory(team__challenge=study.challenge, user__email="noor@uni.example").user
    services.consent_record(user=user, study=study, version=version, choices=ALL_YES)

    tasks.announce_post_surveys.delay()
    wait_for(lambda: _runs(celery_worker_process) >= 1, what="the worker to run the task")
    notice = SurveyNotice.objects.get(survey=survey, user=user)
    assert notice.emailed_at is not None
    assert "noor@uni.example" in celery_worker_process.read_text(errors="replace")

    tasks.announce_post_surveys.delay()
    wait_for(lambda: _runs(celery_worker_process) >= 2, what="the second run to finish")
    assert SurveyNotice.objects.get(survey=survey, user=user).emailed_at == notice.emailed_at
    assert SurveyNotice.objects.filter(survey=survey).count() == 1
    assert celery_worker_process.read_text(errors="replace").count("noor@uni.example") == 1


def _runs(log_path) -> int:
    """How many announce tasks the worker has finished, from its log."""
    return sum(
        "announce_post_surveys" in line and "succeeded" in line
        for line in log_path.read_text(errors="replace").splitlines()
    )
