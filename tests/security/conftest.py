"""The world of the security tests, built once per module (see matrix.py)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import override_settings

from competitions import services
from competitions.models import DataFile, Leaderboard
from competitions.roles import ORGANISERS_GROUP, ensure_organiser_group
from surveys.roles import RESEARCHERS_GROUP, ensure_researcher_group
from tests.conftest import predictions_csv, score_now, upload
from tests.factories import ChallengeFactory, ParticipantFactory, PhaseFactory, UserFactory
from tests.security.matrix import DESCRIPTION_MARKER, StudyFactory, World, answered_study, staff


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, truth_csv, demo_data) -> World:
    """Built once for the module inside a transaction that is rolled back at its end; each test
    runs in a savepoint within it."""
    with django_db_blocker.unblock(), override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
    ):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            ensure_organiser_group()
            ensure_researcher_group()
            phase = PhaseFactory(bootstrap_resamples=20)
            challenge = phase.challenge
            services.truth_upload(phase=phase, upload=upload(truth_csv, "truth.csv"))
            other = ChallengeFactory()
            users = {
                "participant": ParticipantFactory(team__challenge=challenge).user,
                "rival": ParticipantFactory(team__challenge=challenge).user,
                "other_organiser": staff(ORGANISERS_GROUP),
                "other_researcher": staff(RESEARCHERS_GROUP),
                "organiser": staff(ORGANISERS_GROUP),
                "researcher": staff(RESEARCHERS_GROUP),
                "superuser": UserFactory(is_staff=True, is_superuser=True),
            }
            challenge.organisers.add(users["organiser"])
            other.organisers.add(users["other_organiser"])
            features = demo_data.test_features
            ids = {}
            for role, scale in (("participant", 1.0), ("rival", -1.0)):
                submission = services.submission_create(
                    phase=phase, user=users[role],
                    upload=upload(predictions_csv(
                        features["case_id"], 1 / (1 + 2.0 ** (scale * (65 - features["age"]) / 5))
                    )),
                    description=DESCRIPTION_MARKER if role == "participant" else "",
                )
                score_now(submission)
                ids[role] = submission.pk
            data_file = DataFile(challenge=challenge, title="Features")
            data_file.file.save("features.csv", ContentFile(b"case_id,age\nx,1\n"))
            study, survey = answered_study(challenge, users["participant"], users["rival"],
                                            users["researcher"])
            StudyFactory(challenge=other).researchers.add(users["other_researcher"])
            rival_team = users["rival"].participations.get().team
            yield World(
                users=users,
                slug=challenge.slug,
                phase=phase.slug,
                board=Leaderboard.objects.filter(phase=phase).first().slug,
                submission=ids["participant"],
                rival_submission=ids["rival"],
                data_file=data_file.pk,
                study=study.slug,
                survey=survey.pk,
                invite_token=str(rival_team.invite_token),
                truth_rows=truth_csv.decode().splitlines()[1:40],
            )
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


