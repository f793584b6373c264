"""Fixtures for the competitions tests that need a scored field of real submissions."""

from __future__ import annotations

import numpy as np
import pytest
from django.contrib.auth.models import Group

from competitions import services
from competitions.roles import ORGANISERS_GROUP
from tests.conftest import predictions_csv, score_now, upload
from tests.factories import ParticipantFactory, UserFactory


@pytest.fixture
def organiser(db):
    """A staff user in the Organisers group, organising no challenge yet."""
    user = UserFactory(username="org", is_staff=True)
    user.groups.add(Group.objects.get(name=ORGANISERS_GROUP))
    return user


@pytest.fixture
def field(open_phase, demo_data):
    """Three teams: two near-identical models and one that uses other features."""
    features = demo_data.test_features
    age = (features["age"].to_numpy() - 50) / 50
    chains = (features["kappa"] + features["lambda"]).to_numpy() / 10
    models = {"Twin A": age, "Twin B": age + 1e-4, "Chains": chains}
    scores = {}
    for team, risk in models.items():
        participant = ParticipantFactory(team__challenge=open_phase.challenge, team__name=team)
        values = 1 / (1 + np.exp(-(risk - np.median(risk)) * 4))
        scores[team] = values
        submission = services.submission_create(
            phase=open_phase,
            user=participant.user,
            upload=upload(predictions_csv(features["case_id"], values)),
        )
        score_now(submission)
    return open_phase, scores
