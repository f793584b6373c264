"""The world of the security tests, built once per module (see matrix.py)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import override_settings

from competitions import services
from competitions.models import Challenge, DataFile, Leaderboard, LeaderboardColumn
from competitions.roles import ORGANISERS_GROUP, ensure_organiser_group
from surveys.models import Arm, ArmAssignment
from surveys.roles import RESEARCHERS_GROUP, ensure_researcher_group
from tests.conftest import predictions_csv, score_now, upload
from tests.factories import ChallengeFactory, ParticipantFactory, PhaseFactory, UserFactory
from tests.security.matrix import (
    ARM_BOARD,
    DESCRIPTION_MARKER,
    NAMES,
    StudyFactory,
    World,
    answered_study,
    staff,
)


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
            # Distinct names, none a part of another, so that a page's leak is found by name.
            phase = PhaseFactory(bootstrap_resamples=20, name=NAMES["phase"],
                                 challenge__title=NAMES["challenge"])
            challenge = phase.challenge
            services.truth_upload(phase=phase, upload=upload(truth_csv, "truth.csv"))
            # A board a design arm restricts, ranked with the primary one.
            arm_board = Leaderboard.objects.create(phase=phase, slug=ARM_BOARD,
                                                   name="Arm-only board", order=1)
            LeaderboardColumn.objects.create(leaderboard=arm_board, column_id="auroc",
                                             ranked=True)
            other = ChallengeFactory(title=NAMES["other_challenge"])
            PhaseFactory(challenge=other, name=NAMES["other_phase"])
            private = ChallengeFactory(access=Challenge.Access.PRIVATE,
                                       invitation_code="matrix-invitation-code")
            users = {
                "participant": ParticipantFactory(team__challenge=challenge,
                                                  user__username=NAMES["participant"]).user,
                "rival": ParticipantFactory(team__challenge=challenge,
                                            user__username=NAMES["rival"]).user,
                "other_organiser": staff(ORGANISERS_GROUP, username=NAMES["other_organiser"]),
                "other_researcher": staff(RESEARCHERS_GROUP, username=NAMES["other_researcher"]),
                "organiser": staff(ORGANISERS_GROUP, username=NAMES["organiser"]),
                "researcher": staff(RESEARCHERS_GROUP, username=NAMES["researcher"]),
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
            StudyFactory(challenge=other, title=NAMES["other_study"]).researchers.add(
                users["other_researcher"])
            # The participant's arm sees the primary board and the arm's; the rival is in no
            # arm and sees the primary board only, as do the public and everyone else.
            arm = Arm.objects.create(study=study, slug="arm", name="Arm")
            arm.leaderboards.add(phase.leaderboards.get(is_primary=True), arm_board)
            ArmAssignment.objects.create(study=study, user=users["participant"], arm=arm,
                                         sequence=0)
            rival_team = users["rival"].participations.get().team
            yield World(
                users=users,
                slug=challenge.slug,
                phase=phase.slug,
                board=phase.leaderboards.get(is_primary=True).slug,
                submission=ids["participant"],
                rival_submission=ids["rival"],
                data_file=data_file.pk,
                study=study.slug,
                survey=survey.pk,
                invite_token=str(rival_team.invite_token),
                rival_team=rival_team.name,
                private_slug=private.slug,
                truth_rows=truth_csv.decode().splitlines()[1:40],
            )
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


