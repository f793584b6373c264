"""Stored per-case results: written by the worker with the result, read back for the field.

The oracle is the uploaded CSV itself, parsed with pandas and aligned to the ground truth's
case ids by hand (not through ``scoring.io``); equality is exact (the arrays hold the parsed
float64 values).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from competitions import services
from competitions.case_results import phase_case_matrix
from competitions.models import Submission, private_storage
from competitions.worker import evaluation
from tests.conftest import predictions_csv, upload
from tests.factories import ChallengeFactory, ParticipantFactory, PhaseFactory

pytestmark = pytest.mark.django_db


def _submit(phase, participant, content: bytes) -> Submission:
    return services.submission_create(phase=phase, user=participant.user, upload=upload(content))


def _score(submission: Submission) -> Submission:
    evaluation.submission_score(evaluation.submission_claim(submission.pk))
    submission.refresh_from_db()
    return submission


def _csv_scores_in_truth_order(content: bytes, truth_csv: bytes) -> np.ndarray:
    truth_ids = pd.read_csv(io.BytesIO(truth_csv), dtype=str)["case_id"]
    frame = pd.read_csv(io.BytesIO(content), dtype={"case_id": str}).set_index("case_id")
    return frame.loc[truth_ids, "score"].to_numpy(dtype=np.float64)


def _load(name: str) -> np.ndarray:
    with private_storage.open(name, "rb") as handle:
        return np.load(io.BytesIO(handle.read()), allow_pickle=False)


@pytest.fixture
def shuffled_predictions(demo_data) -> bytes:
    """A model's scores with the rows in another order than the ground truth's."""
    features = demo_data.test_features.sample(frac=1.0, random_state=3)
    scores = 1 / (1 + np.exp(-((features["age"] - 65) / 10).to_numpy()))
    return predictions_csv(features["case_id"], scores)


def test_the_worker_stores_the_scores_in_the_ground_truths_case_order(
    open_phase, participant, shuffled_predictions, truth_csv
):
    submission = _score(_submit(open_phase, participant, shuffled_predictions))
    assert submission.status == Submission.Status.SCORED, submission.message
    expected = _csv_scores_in_truth_order(shuffled_predictions, truth_csv)
    scores = _load(submission.case_scores.name)
    assert scores.dtype == np.float64
    np.testing.assert_array_equal(scores, expected)
    decisions = _load(submission.case_decisions.name)
    np.testing.assert_array_equal(decisions, (expected >= open_phase.threshold).astype(np.int8))


def test_the_case_matrix_stacks_the_field_with_the_truth_read_once(
    open_phase, participant, shuffled_predictions, good_predictions, truth_csv, demo_data
):
    rival = ParticipantFactory(team__challenge=open_phase.challenge)
    first = _score(_submit(open_phase, participant, shuffled_predictions))
    second = _score(_submit(open_phase, rival, good_predictions))
    matrix = phase_case_matrix(open_phase, [second.pk, first.pk])
    truth = demo_data.truth
    assert matrix.scores.shape == (2, len(truth))
    np.testing.assert_array_equal(matrix.case_ids, truth["case_id"].to_numpy())
    np.testing.assert_array_equal(matrix.labels, truth["label"].to_numpy())
    np.testing.assert_array_equal(matrix.split, truth["split"].to_numpy())
    np.testing.assert_array_equal(matrix.attributes["sex"], truth["sex"].to_numpy())
    np.testing.assert_array_equal(
        matrix.scores[0], _csv_scores_in_truth_order(good_predictions, truth_csv)
    )
    np.testing.assert_array_equal(
        matrix.scores[1], _csv_scores_in_truth_order(shuffled_predictions, truth_csv)
    )
    assert matrix.submission_ids == [second.pk, first.pk]


def test_the_case_matrix_reads_the_arrays_not_the_csv(open_phase, participant, good_predictions):
    submission = _score(_submit(open_phase, participant, good_predictions))
    # Spoil the upload: a reader that parsed the CSV again would now fail.
    with submission.file.open("wb") as handle:
        handle.write(b"not,a,csv\n")
    matrix = phase_case_matrix(open_phase, [submission.pk])
    np.testing.assert_array_equal(matrix.scores[0], _load(submission.case_scores.name))


def test_a_submission_scored_before_arrays_existed_is_backfilled_from_its_csv(
    open_phase, participant, good_predictions, truth_csv
):
    submission = _score(_submit(open_phase, participant, good_predictions))
    Submission.objects.filter(pk=submission.pk).update(case_scores="", case_decisions="")
    matrix = phase_case_matrix(open_phase, [submission.pk])
    expected = _csv_scores_in_truth_order(good_predictions, truth_csv)
    np.testing.assert_array_equal(matrix.scores[0], expected)
    submission.refresh_from_db()
    assert submission.case_scores  # written for the next reader
    np.testing.assert_array_equal(_load(submission.case_scores.name), expected)


def test_a_rescore_rewrites_the_arrays_and_deletes_the_old_ones(
    open_phase, participant, good_predictions, shuffled_predictions, truth_csv,
    django_capture_on_commit_callbacks,
):
    submission = _score(_submit(open_phase, participant, good_predictions))
    old = submission.case_scores.name
    # What a rescore must pick up: here the stored upload itself differs from the first read.
    with submission.file.open("wb") as handle:
        handle.write(shuffled_predictions)
    services.phase_rescore(phase=open_phase)
    with django_capture_on_commit_callbacks(execute=True):
        rescored = _score(submission)
    assert rescored.case_scores.name != old
    assert not submission.case_scores.storage.exists(old)
    np.testing.assert_array_equal(
        _load(rescored.case_scores.name),
        _csv_scores_in_truth_order(shuffled_predictions, truth_csv),
    )


def test_a_stale_delivery_neither_attaches_nor_leaves_its_arrays(
    open_phase, participant, good_predictions, shuffled_predictions
):
    submission = _submit(open_phase, participant, good_predictions)
    stale = evaluation.submission_claim(submission.pk)
    current = evaluation.submission_claim(submission.pk)  # e.g. the sweeper re-queued it
    evaluation.submission_score(current)
    submission.refresh_from_db()
    recorded = submission.case_scores.name
    stored = set(submission.case_scores.storage.listdir(f"case-results/{open_phase.pk}")[1])
    evaluation.submission_score(stale)
    submission.refresh_from_db()
    assert submission.case_scores.name == recorded
    assert set(submission.case_scores.storage.listdir(f"case-results/{open_phase.pk}")[1]) == stored


def test_only_scored_submissions_of_the_phase_have_a_case_matrix(
    open_phase, participant, good_predictions
):
    queued = _submit(open_phase, participant, good_predictions)
    with pytest.raises(ValueError, match="without a result"):
        phase_case_matrix(open_phase, [queued.pk])


def test_multiclass_arrays_hold_the_class_probabilities_and_the_predicted_class(demo_data):
    """flchain's age band as a 4-class label; random probabilities, rows shuffled."""
    phase = PhaseFactory(challenge=ChallengeFactory(task="multiclass"))
    truth = demo_data.truth.assign(label=demo_data.truth["age_band"]).drop(columns="age_band")
    services.truth_upload(phase=phase, upload=upload(truth.to_csv(index=False).encode()))
    classes = sorted(truth["label"].unique())
    rng = np.random.default_rng(0)
    raw = rng.dirichlet(np.ones(len(classes)), size=len(truth)).round(3)
    raw[:, -1] = 1 - raw[:, :-1].sum(axis=1)  # rows sum to 1 after rounding
    predicted = np.array(classes, dtype=object)[raw.argmax(axis=1)]
    frame = pd.DataFrame({"case_id": truth["case_id"], "label": predicted})
    for i, name in enumerate(classes):
        frame[f"p_{name}"] = raw[:, i]
    member = ParticipantFactory(team__challenge=phase.challenge)
    shuffled = frame.sample(frac=1.0, random_state=2).to_csv(index=False).encode()
    submission = _score(
        services.submission_create(phase=phase, user=member.user, upload=upload(shuffled))
    )
    assert submission.status == Submission.Status.SCORED, submission.message
    matrix = phase_case_matrix(phase, [submission.pk])
    assert matrix.scores.shape == (1, len(truth), len(classes))
    np.testing.assert_array_equal(
        matrix.scores[0], frame[[f"p_{name}" for name in classes]].to_numpy(dtype=np.float64)
    )
    np.testing.assert_array_equal(
        matrix.decisions[0], [classes.index(label) for label in predicted]
    )
