"""Fixtures shared by the web-app tests: real clinical data (flchain) and an open phase."""

from __future__ import annotations

import io
import os

import numpy as np
import pandas as pd
import pytest
from django.core.files.base import ContentFile

from competitions import services
from competitions.demo_data import DemoData, load_demo_data
from competitions.worker import evaluation
from competitions.worker.analyses import phase_snapshots_analyse
from competitions.worker.snapshots import phase_leaderboards_refresh
from tests.factories import ParticipantFactory, PhaseFactory


def pytest_collection_modifyitems(config, items):
    """Leave ``postgresql`` tests out of a run on SQLite (the laptop default), visibly, as
    deselected; in CI (CHEETAH_REQUIRE_SERVICES=1) they always run, and fail without the server."""
    from django.conf import settings

    on_sqlite = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
    if not on_sqlite or os.environ.get("CHEETAH_REQUIRE_SERVICES") == "1":
        return
    kept = [item for item in items if "postgresql" not in item.keywords]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if "postgresql" in i.keywords])
        items[:] = kept


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2's deliberate slowness is for attackers, not for the hundreds of test users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def demo_data() -> DemoData:
    return load_demo_data()


@pytest.fixture(scope="session")
def truth_csv(demo_data: DemoData) -> bytes:
    return demo_data.truth.to_csv(index=False).encode()


def predictions_csv(case_ids, scores) -> bytes:
    frame = pd.DataFrame({"case_id": case_ids, "score": np.round(scores, 6)})
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


@pytest.fixture(scope="session")
def good_predictions(demo_data: DemoData) -> bytes:
    """A plausible model: older age and higher light chains mean higher risk."""
    features = demo_data.test_features
    risk = (features["age"] - 50) / 50 + (features["kappa"] + features["lambda"]) / 10
    scores = 1 / (1 + np.exp(-(risk.to_numpy() - 1.0) * 3))
    return predictions_csv(features["case_id"], scores)


def upload(content: bytes, name: str = "predictions.csv") -> ContentFile:
    return ContentFile(content, name=name)


def rank_and_analyse(phase, **options) -> list:
    """What the two workers do after a change to the field, in this process: the scoring queue
    re-ranks the phase's leaderboards, then the field queue analyses the new snapshots (rank
    intervals, paired tests). Returns the refresh's snapshots (before their analyses)."""
    snapshots = phase_leaderboards_refresh(phase, **options)
    phase_snapshots_analyse(phase)
    return snapshots


def score_now(submission) -> None:
    """What the workers do for a queued submission, in this process: score it, then re-rank the
    phase's leaderboards and analyse them (the tasks it enqueues after commit, which a test
    transaction never reaches). The e2e tests run the real workers."""
    evaluation.submission_score(evaluation.submission_claim(submission.pk))
    rank_and_analyse(submission.phase)


@pytest.fixture
def open_phase(db, truth_csv):
    phase = PhaseFactory()
    services.truth_upload(phase=phase, upload=upload(truth_csv, "truth.csv"))
    return phase


@pytest.fixture
def participant(open_phase):
    return ParticipantFactory(team__challenge=open_phase.challenge)
