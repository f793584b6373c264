"""The worker's side, run in-process: bad files end as failed with a readable message, good
files are scored, and claims make duplicate deliveries harmless.

The same functions run inside the real worker in tests/e2e.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from competitions import services
from competitions.models import Submission
from competitions.worker import evaluation
from tests.conftest import predictions_csv, upload

pytestmark = pytest.mark.django_db


def _score(submission: Submission) -> Submission:
    claim = evaluation.submission_claim(submission.pk)
    assert claim is not None
    evaluation.submission_score(claim)
    submission.refresh_from_db()
    return submission


def _submit(phase, participant, content: bytes) -> Submission:
    return services.submission_create(phase=phase, user=participant.user, upload=upload(content))


def test_a_good_file_is_scored_with_the_engine_version_and_config(
    open_phase, participant, good_predictions
):
    submission = _score(_submit(open_phase, participant, good_predictions))
    assert submission.status == Submission.Status.SCORED, submission.message
    public = submission.result["public"]
    assert 0.5 < public["overall"]["auroc"]["value"] < 1
    assert 0 < public["overall"]["accuracy"]["value"] < 1
    assert submission.result["private"]["n_cases"] + public["n_cases"] == open_phase.truth_n_cases
    assert submission.engine_version
    assert submission.config["threshold"] == open_phase.threshold
    assert [e.kind for e in submission.events.all()][-2:] == ["started", "finished"]


def test_results_carry_intervals_subgroups_and_intersections_from_the_phase_settings(
    open_phase, participant, good_predictions
):
    open_phase.intersections = "sex:age_band"
    open_phase.bootstrap_resamples = 100
    open_phase.save()
    submission = _score(_submit(open_phase, participant, good_predictions))
    public = submission.result["public"]
    low, high = public["overall"]["auroc"]["ci"]
    assert low < public["overall"]["auroc"]["value"] < high
    attributes = {g["attribute"] for g in public["groups"]}
    assert attributes == {"sex", "age_band", "kidney_function", "sex×age_band"}
    assert submission.config["bootstrap"] == 100
    assert submission.config["intersections"] == [["sex", "age_band"]]
    again = _score(_submit(open_phase, participant, good_predictions))
    assert again.result["public"]["overall"]["auroc"]["ci"] == [low, high]  # seeded


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"id,prediction\np1,0.5\n", "case_id"),
        ("case_id,score\np00001,0.5\n".encode("utf-16"), "UTF-8"),
    ],
    ids=["empty", "wrong-columns", "not-utf8"],
)
def test_a_malformed_file_fails_with_a_readable_message(
    open_phase, participant, content, expected
):
    submission = _score(_submit(open_phase, participant, content))
    assert submission.status == Submission.Status.FAILED
    assert expected in submission.message
    assert "Traceback" not in submission.message
    assert submission.events.last().kind == "failed"


def test_missing_and_duplicate_ids_are_named(open_phase, participant, demo_data):
    ids = list(demo_data.truth["case_id"])
    content = predictions_csv([*ids[2:], ids[5]], [0.5] * (len(ids) - 1))
    submission = _score(_submit(open_phase, participant, content))
    assert submission.status == Submission.Status.FAILED
    assert "2 cases missing" in submission.message
    assert ids[0] in submission.message
    assert "more than once" in submission.message
    assert ids[5] in submission.message


def test_non_numeric_scores_are_reported_with_their_rows(open_phase, participant, demo_data):
    ids = list(demo_data.truth["case_id"])
    content = predictions_csv(ids, [0.5] * len(ids)).decode().splitlines()
    content[4] = f"{ids[3]},high"
    submission = _score(_submit(open_phase, participant, "\n".join(content).encode()))
    assert submission.status == Submission.Status.FAILED
    assert f"1 score is not a finite number, first: {ids[3]}" in submission.message


def test_a_second_delivery_of_a_scored_submission_changes_nothing(
    open_phase, participant, good_predictions
):
    submission = _score(_submit(open_phase, participant, good_predictions))
    finished_at = submission.finished_at
    assert evaluation.submission_claim(submission.pk) is None
    submission.refresh_from_db()
    assert submission.finished_at == finished_at
    assert submission.events.filter(kind="finished").count() == 1


def test_a_stale_claim_cannot_record_a_result(open_phase, participant, good_predictions):
    submission = _submit(open_phase, participant, good_predictions)
    first = evaluation.submission_claim(submission.pk)
    second = evaluation.submission_claim(submission.pk)  # e.g. a re-queue while first hung
    evaluation.submission_score(first)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.SCORING
    evaluation.submission_score(second)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.SCORED
    assert submission.events.filter(kind="finished").count() == 1


@override_settings(SCORING_MAX_DELIVERIES=2)
def test_a_file_that_keeps_killing_the_worker_is_failed_with_a_message(
    open_phase, participant, good_predictions
):
    submission = _submit(open_phase, participant, good_predictions)
    evaluation.submission_claim(submission.pk)  # worker dies
    evaluation.submission_claim(submission.pk)  # and again
    assert evaluation.submission_claim(submission.pk) is None
    submission.refresh_from_db()
    assert submission.status == Submission.Status.FAILED
    assert "did not finish after 2 attempts" in submission.message


def test_the_sweeper_requeues_stuck_submissions_and_leaves_fresh_ones(
    open_phase, participant, good_predictions, settings
):
    stuck = _submit(open_phase, participant, good_predictions)
    fresh = _submit(open_phase, participant, good_predictions)
    long_ago = timezone.now() - settings.STUCK_AFTER - timedelta(seconds=5)
    Submission.objects.filter(pk=stuck.pk).update(
        status=Submission.Status.SCORING, started_at=long_ago, created_at=long_ago, deliveries=1
    )
    counts = evaluation.submissions_sweep()
    assert counts == {"requeued": 1, "failed": 0}
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.status == Submission.Status.QUEUED
    assert stuck.events.last().kind == "requeued"
    assert fresh.events.filter(kind="requeued").count() == 0


def test_the_sweeper_fails_what_keeps_getting_stuck(
    open_phase, participant, good_predictions, settings
):
    stuck = _submit(open_phase, participant, good_predictions)
    long_ago = timezone.now() - settings.STUCK_AFTER - timedelta(seconds=5)
    Submission.objects.filter(pk=stuck.pk).update(
        status=Submission.Status.SCORING,
        created_at=long_ago,
        started_at=long_ago,
        deliveries=settings.SCORING_MAX_DELIVERIES,
    )
    assert evaluation.submissions_sweep() == {"requeued": 0, "failed": 1}
    stuck.refresh_from_db()
    assert stuck.status == Submission.Status.FAILED
    assert "did not finish" in stuck.message


def test_rescoring_a_phase_requeues_its_scored_submissions(
    open_phase, participant, good_predictions
):
    scored = _score(_submit(open_phase, participant, good_predictions))
    assert services.phase_rescore(phase=open_phase) == 1
    scored.refresh_from_db()
    assert scored.status == Submission.Status.QUEUED
    rescored = _score(scored)
    assert rescored.status == Submission.Status.SCORED
