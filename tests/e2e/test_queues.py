"""Scoring never waits behind analytics: the scoring queue carries scoring, the release decision
and the leaderboard snapshot; the snapshots' rank intervals and paired tests and the field's
similarity go to the field queue. With only a scoring worker running, a submission is scored
and ranked while the analyses and the similarity run wait in the field queue (the page says
"being computed"); a field worker then takes them, and the page shows the intervals."""

from __future__ import annotations

import pytest
from amqp.exceptions import ChannelError
from django.conf import settings
from django.urls import reverse

from cheetah.celery import FIELD_TASKS, app, field_queue, route_task
from competitions import services
from competitions.models import LeaderboardSnapshot, SimilarityReport, Submission
from tests.conftest import upload
from tests.e2e.conftest import wait_for
from tests.factories import ParticipantFactory

PENDING_NOTE = "Rank intervals and tie marks are being computed"
INTERVAL_TITLE = "95% interval of the rank over bootstrap resamples of the cases"

SCORING_TASKS = {
    "competitions.tasks.score_submission",
    "competitions.tasks.refresh_phase_leaderboards",
    "competitions.tasks.sweep_stuck_submissions",
}


def test_every_task_has_its_queue_and_field_tasks_follow_the_default_queue():
    app.loader.import_default_modules()
    tasks = {name for name in app.tasks if not name.startswith("celery.")}
    assert tasks == SCORING_TASKS | FIELD_TASKS
    for name in SCORING_TASKS:
        assert route_task(name, (), {}, {}) is None  # the default queue
    for name in FIELD_TASKS:
        assert route_task(name, (), {}, {}) == {"queue": field_queue()}
    assert field_queue("private-7") == "private-7.field"
    # A worker started without -Q (an older deployment's command) reads both queues.
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    assert [q.name for q in app.conf.task_queues] == [default, field_queue(default)]


def _waiting(queue: str) -> int:
    """Messages waiting in ``queue`` on the broker (0 while it does not exist yet)."""
    with app.connection_for_read() as connection:
        try:
            declared = connection.default_channel.queue_declare(queue=queue, passive=True)
        except ChannelError:
            return 0
        return declared.message_count


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_submission_is_scored_and_ranked_while_the_field_queue_waits(
    private_workers, client, open_phase, good_predictions
):
    scoring = private_workers.start(queues=(private_workers.queue,))
    # Two teams: a field of one has no similarity to compute.
    submissions = [
        services.submission_create(
            phase=open_phase, user=ParticipantFactory(team__challenge=open_phase.challenge).user,
            upload=upload(good_predictions))
        for _ in range(2)
    ]
    ids = sorted(s.pk for s in submissions)

    def ranked() -> bool:
        snapshot = LeaderboardSnapshot.objects.filter(leaderboard__phase=open_phase,
                                                      split="public").first()
        return snapshot is not None and sorted(r["submission"] for r in snapshot.rows) == ids

    wait_for(ranked, timeout=120, what="scoring and the snapshot on the scoring queue")
    assert set(Submission.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Submission.Status.SCORED}
    field = field_queue(private_workers.queue)
    wait_for(lambda: _waiting(field) >= 2, timeout=30,
             what="the analyses and the similarity run to be queued")
    assert not SimilarityReport.objects.filter(phase=open_phase).exists()
    snapshots = LeaderboardSnapshot.objects.filter(leaderboard__phase=open_phase)
    assert set(snapshots.values_list("analysis", flat=True)) == {"pending"}
    assert set(snapshots.values_list("robustness", flat=True)) == {None}
    log = scoring.log_path.read_text()
    assert "compute_phase_similarity[" not in log  # never received
    assert "analyse_leaderboard_snapshots[" not in log
    url = reverse("competitions:leaderboard", args=[open_phase.challenge.slug, open_phase.slug])
    assert PENDING_NOTE in client.get(url).content.decode()

    private_workers.start(queues=(field,))
    wait_for(lambda: SimilarityReport.objects.filter(phase=open_phase).exists()
             and set(snapshots.values_list("analysis", flat=True)) == {"done"}, timeout=120,
             what="the field worker to analyse the snapshots and compute the similarity")
    assert _waiting(field) == 0
    public = snapshots.get(split="public")
    assert public.robustness["resamples"] == public.leaderboard.robustness_resamples
    assert all(row["rank_interval"] for row in public.rows)
    assert public.summary["significance"]["family_size"] == 1  # two entries, one pair
    page = client.get(url).content.decode()  # the page drawn while pending is not served
    assert PENDING_NOTE not in page and page.count(INTERVAL_TITLE) == 2
