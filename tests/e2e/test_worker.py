"""Upload → a real Celery worker process scores it → the leaderboard shows it.

Runs on whatever DATABASE_URL and CELERY_BROKER_URL say: PostgreSQL and Redis in CI, SQLite and
the file-system broker on a laptop.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from competitions import services
from competitions.models import LeaderboardSnapshot, SimilarityReport, Submission
from competitions.similarity_arrays import similarity_arrays_read
from tests.conftest import upload
from tests.e2e.conftest import wait_for
from tests.factories import ParticipantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _finished(pk: int) -> Submission | None:
    submission = Submission.objects.get(pk=pk)
    return submission if submission.status in ("scored", "failed") else None


def test_an_upload_is_scored_by_the_worker_and_shown_on_the_leaderboard(
    celery_worker_process, client, open_phase, participant, good_predictions
):
    client.force_login(participant.user)
    url = reverse(
        "competitions:submission-create", args=[open_phase.challenge.slug, open_phase.slug]
    )
    response = client.post(url, {"file": upload(good_predictions), "description": "age+FLC"})
    assert response.status_code == 302
    pk = Submission.objects.get(team=participant.team).pk
    submission = wait_for(lambda: _finished(pk), what="the worker to score the submission")
    assert submission.status == "scored", submission.message
    assert [e.kind for e in submission.events.all()] == ["received", "queued", "started",
                                                         "finished"]
    auroc = submission.result["public"]["overall"]["auroc"]["value"]

    # The worker re-ranks the phase in a task of its own once the submission is scored.
    wait_for(
        lambda: LeaderboardSnapshot.objects.filter(
            leaderboard__phase=open_phase, split="public", rows__0__submission=pk
        ).first(),
        what="the worker to re-rank the leaderboard",
    )
    board = client.get(
        reverse("competitions:leaderboard", args=[open_phase.challenge.slug, open_phase.slug])
    ).content.decode()
    assert participant.team.name in board
    assert f"{auroc:.3f}" in board


def test_a_bad_upload_fails_in_the_worker_with_a_message(
    celery_worker_process, open_phase, participant
):
    submission = services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(b"id,prediction\nx,1\n")
    )
    finished = wait_for(lambda: _finished(submission.pk), what="the worker to fail the file")
    assert finished.status == "failed"
    assert "case_id" in finished.message


def test_the_worker_recomputes_the_fields_similarity_after_each_scored_submission(
    celery_worker_process, open_phase, participant, good_predictions
):
    rival = ParticipantFactory(team__challenge=open_phase.challenge)
    for member in (participant, rival):
        services.submission_create(
            phase=open_phase, user=member.user, upload=upload(good_predictions)
        )
    def report_of_both():
        latest = SimilarityReport.objects.filter(phase=open_phase, split="public").first()
        return latest if latest is not None and len(latest.entries) == 2 else None

    report = wait_for(report_of_both, what="the worker to compute the similarity report")
    assert {e["team"] for e in report.entries} == {participant.team.name, rival.team.name}
    assert similarity_arrays_read(report).measures["agreement"][0][1] == 1.0  # identical files


def test_the_worker_stores_case_arrays_and_updates_the_similarity_one_row_at_a_time(
    celery_worker_process, open_phase, demo_data
):
    import numpy as np

    from competitions.case_results import phase_case_matrix
    from tests.conftest import predictions_csv

    features = demo_data.test_features
    models = {
        "Age": features["age"].to_numpy() / 120,
        # Percentiles, not a sigmoid of the raw sum (nearly all above 0.5): a model deciding
        # ≥ 99% of cases one way is flagged as a probe and, under the ladder, not released.
        "Chains": (features["kappa"] + features["lambda"]).rank(pct=True).to_numpy(),
        "Both": (features["age"].to_numpy() / 60 + features["kappa"].to_numpy() / 10) / 2,
    }
    submitted = {}

    def latest_with(n: int):
        """The report of n entries once its ensembles (stored after it) are there too."""
        latest = SimilarityReport.objects.filter(phase=open_phase, split="public").first()
        done = latest is not None and len(latest.entries) == n and latest.ensembles
        return latest if done else None

    for count, (team, scores) in enumerate(models.items(), start=1):
        member = ParticipantFactory(team__challenge=open_phase.challenge, team__name=team)
        submission = services.submission_create(
            phase=open_phase,
            user=member.user,
            upload=upload(predictions_csv(features["case_id"], np.clip(scores, 0, 1))),
        )
        submitted[team] = submission.pk
        wait_for(lambda pk=submission.pk: _finished(pk), what=f"the worker to score {team}")
        if count >= 2:
            report = wait_for(lambda n=count: latest_with(n), what=f"a report of {count}")
    assert report.rows_computed == 1  # only the third entry's row
    assert {e["name"] for e in report.ensembles["ensembles"]} == {
        "mean_top3", "vote_top3", "diverse3",
    }
    matrix = phase_case_matrix(open_phase, list(submitted.values()))
    stored = Submission.objects.filter(pk__in=submitted.values()).exclude(case_scores="")
    assert stored.count() == 3
    np.testing.assert_array_equal(
        matrix.scores[0], np.round(np.clip(models["Age"], 0, 1), 6)
    )
