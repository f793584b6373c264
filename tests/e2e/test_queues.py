"""Scoring never waits behind analytics: the scoring queue carries scoring, the release decision
and the leaderboard snapshot; the field's similarity goes to the field queue. With only a
scoring worker running, a submission is scored and ranked while the similarity run waits in
the field queue; a field worker then takes it."""

from __future__ import annotations

import pytest
from amqp.exceptions import ChannelError
from django.conf import settings

from cheetah.celery import FIELD_TASKS, app, field_queue, route_task
from competitions import services
from competitions.models import LeaderboardSnapshot, SimilarityReport, Submission
from tests.conftest import upload
from tests.e2e.conftest import wait_for
from tests.factories import ParticipantFactory

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
    private_workers, open_phase, good_predictions
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
    wait_for(lambda: _waiting(field) >= 1, timeout=30, what="the similarity run to be queued")
    assert not SimilarityReport.objects.filter(phase=open_phase).exists()
    assert "compute_phase_similarity[" not in scoring.log_path.read_text()  # never received

    private_workers.start(queues=(field,))
    wait_for(lambda: SimilarityReport.objects.filter(phase=open_phase).exists(), timeout=120,
             what="the field worker to compute the similarity")
    assert _waiting(field) == 0
