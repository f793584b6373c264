"""Redis down or restarted, PostgreSQL connections dropped: pages serve, uploads get a clear
answer, and no submission is lost, because the database row is the truth and the sweeper sends
again what the broker lost.

Redis here is always a private ``redis-server`` the test starts, stops and restarts; the shared
one is never touched. Workers are private too, so they can run with a short sweeper limit.
"""

from __future__ import annotations

import runpy
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from cheetah.celery import field_queue
from competitions import services
from competitions.models import LeaderboardSnapshot, Submission
from competitions.worker import evaluation
from competitions.worker.snapshots import (
    phase_leaderboards_refresh,
    stale_leaderboard_phases,
    stale_phases_refresh,
)
from competitions.worker.tasks import sweep_stuck_submissions
from tests.competitions.builders import make_scored
from tests.conftest import upload
from tests.e2e.conftest import (
    broker,
    event_kinds,
    finished,
    wait_for,
    wait_until_scoring,
    worker_database_url,
    worker_stop,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SETTINGS_FILE = Path(__file__).resolve().parents[2] / "cheetah" / "settings.py"
# The sweeper of the test's workers: a row untouched this long is sent again, every second.
FAST_SWEEP = {"STUCK_AFTER_SECONDS": "4", "SWEEP_INTERVAL_SECONDS": "1"}


def _configured_caches(monkeypatch, redis_url: str) -> dict:
    """CACHES exactly as cheetah/settings.py builds them for this REDIS_URL."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    return runpy.run_path(str(SETTINGS_FILE))["CACHES"]


def test_pages_serve_and_uploads_answer_clearly_while_redis_is_down(
    client, open_phase, participant, good_predictions, private_redis, monkeypatch
):
    private_redis.stop()  # the cache and the broker both point at a stopped server
    caches = _configured_caches(monkeypatch, private_redis.url)
    client.force_login(participant.user)
    slug, phase = open_phase.challenge.slug, open_phase.slug
    with override_settings(CACHES=caches), broker(private_redis.url):
        cache.set("probe", 1)  # no exception: cache errors are ignored
        assert cache.get("probe") is None
        for url in (
            reverse("competitions:challenge-list"),
            reverse("competitions:leaderboard", args=[slug, phase]),
            # Throttled: the API counts requests in the cache.
            reverse("api:leaderboard", args=[slug, phase, open_phase.leaderboards.get().slug]),
        ):
            assert client.get(url).status_code == 200, url

        page = client.post(
            reverse("competitions:submission-create", args=[slug, phase]),
            {"file": upload(good_predictions)},
            follow=True,
        )
        assert page.status_code == 200
        assert "scoring will start automatically when it is back" in page.content.decode()
        api = client.post(
            reverse("api:submission-create", args=[slug, phase]),
            {"file": upload(good_predictions)},
        )
        assert api.status_code == 201
        assert api.json()["status"] == "queued"
        assert "queue is unreachable" in api.json()["message"]

    kept = Submission.objects.filter(team=participant.team)
    assert kept.count() == 2
    assert set(kept.values_list("status", flat=True)) == {"queued"}

    # The queue is back: the sweeper sends both again, into the broker.
    private_redis.start()
    with broker(private_redis.url):
        from cheetah.celery import app

        counts = evaluation.submissions_sweep(now=timezone.now() + 2 * settings.STUCK_AFTER)
        assert counts == {"requeued": 2, "failed": 0}
        assert private_redis.queued(app.conf.task_default_queue) == 2
    assert not Submission.objects.filter(team=participant.team).exclude(message="").exists()


def test_queued_submissions_survive_a_redis_restart_and_an_outage_under_a_running_worker(
    client, open_phase, participant, good_predictions, private_redis, private_workers
):
    open_phase.submissions_per_day = 10
    open_phase.save()

    def submit() -> int:
        return services.submission_create(
            phase=open_phase, user=participant.user, upload=upload(good_predictions)
        ).pk

    with broker(private_redis.url):
        lost_in_restart = submit()
        assert private_redis.queued(private_workers.queue) == 1
        private_redis.stop()  # no persistence: the message is gone
        private_redis.start()
        assert private_redis.queued(private_workers.queue) == 0

        # A worker with beat's sweeper; then Redis goes away under it and comes back.
        worker = private_workers.start(CELERY_BROKER_URL=private_redis.url, **FAST_SWEEP)
        beat = private_workers.beat(CELERY_BROKER_URL=private_redis.url, **FAST_SWEEP)
        wait_for(lambda: finished(lost_in_restart), timeout=90, what="the sweeper to resend")
        private_redis.stop()
        sent_while_down = submit()
        assert Submission.objects.get(pk=sent_while_down).message
        private_redis.start()
        wait_for(lambda: finished(sent_while_down), timeout=90, what="the worker to reconnect")

    for pk in (lost_in_restart, sent_while_down):
        submission = Submission.objects.get(pk=pk)
        assert submission.status == "scored", submission.message
        assert event_kinds(submission).count("finished") == 1
        assert submission.message == ""
    worker_stop(beat)
    assert worker.process.poll() is None


def _worker_backends(application_name: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s AND pid <> pg_backend_pid()",
            [application_name],
        )
        return [row[0] for row in cursor.fetchall()]


def _terminate(pids: list[int]) -> None:
    with connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.postgresql
def test_dropped_postgresql_connections_are_retried_and_no_submission_is_lost(
    open_phase, participant, good_predictions, private_workers
):
    assert connection.vendor == "postgresql", "drops PostgreSQL server connections"
    open_phase.submissions_per_day = 10
    open_phase.bootstrap_resamples = 5000  # seconds of scoring, to drop connections during it
    open_phase.save()
    name = f"cheetah-faults-{uuid.uuid4().hex[:8]}"
    # Persistent connections with health checks, as in production.
    private_workers.start(
        DATABASE_URL=f"{worker_database_url()}?application_name={name}", CONN_MAX_AGE="60"
    )

    def submit() -> int:
        return services.submission_create(
            phase=open_phase, user=participant.user, upload=upload(good_predictions)
        ).pk

    first = submit()
    wait_for(lambda: finished(first), timeout=90, what="the first submission")
    # Between tasks: whatever connection the worker keeps is dropped; the health check (or a
    # new connection) serves the next task.
    _terminate(_worker_backends(name))

    second = submit()
    wait_until_scoring(second)
    _terminate(_worker_backends(name))  # during scoring: recording fails, the task retries
    wait_for(lambda: finished(second), timeout=120, what="the retried submission")

    for pk, starts in ((first, 1), (second, 2)):
        submission = Submission.objects.get(pk=pk)
        assert submission.status == "scored", submission.message
        kinds = event_kinds(submission)
        assert kinds.count("started") == starts
        assert kinds.count("finished") == 1
    log = private_workers.started[0].log_path.read_text()
    assert "Retry in" in log


def test_a_teams_pick_succeeds_while_redis_is_down_and_the_sweeper_asks_again_for_the_ranking(
    client, open_phase, participant, private_redis
):
    pick = make_scored(open_phase, participant, auroc=0.8)
    phase_leaderboards_refresh(open_phase)
    assert not stale_leaderboard_phases().exists()
    private_redis.stop()
    client.force_login(participant.user)
    url = reverse("competitions:submission-select", args=[open_phase.challenge.slug, pick.pk])
    with broker(private_redis.url):
        page = client.post(url, follow=True)
    assert page.status_code == 200
    assert "This submission now counts for your team" in page.content.decode()
    assert list(stale_leaderboard_phases()) == [open_phase]  # the refresh request was lost

    private_redis.start()
    with broker(private_redis.url):
        from cheetah.celery import app

        assert stale_phases_refresh() == 1
        assert private_redis.queued(app.conf.task_default_queue) == 1


def test_analyses_lost_while_redis_is_down_are_sent_again_by_the_sweeper_and_computed(
    open_phase, participant, private_redis, private_workers
):
    """The scoring queue ranks the phase while the broker is down: the ranking is stored, its
    analyses' request is lost and the snapshots stay pending. Once Redis is back, the
    sweeper's run asks again, once, and a field worker computes them."""
    make_scored(open_phase, participant, auroc=0.8)
    private_redis.stop()
    with broker(private_redis.url):
        phase_leaderboards_refresh(open_phase)  # its requests are lost (logged)
    snapshots = LeaderboardSnapshot.objects.filter(leaderboard__phase=open_phase)
    assert set(snapshots.values_list("analysis", flat=True)) == {"pending"}

    private_redis.start()
    field = field_queue(private_workers.queue)
    with broker(private_redis.url), override_settings(STUCK_AFTER=timedelta(0)):
        counts = sweep_stuck_submissions()
        assert counts["analyses"] == 1
        assert private_redis.queued(field) == 1
    private_workers.start(queues=(field,), CELERY_BROKER_URL=private_redis.url)
    wait_for(lambda: set(snapshots.values_list("analysis", flat=True)) == {"done"},
             timeout=120, what="the field worker to analyse the snapshots")
    # One entry: no intervals, and the page says why instead of "being computed".
    assert snapshots.get(split="public").robustness_note == (
        "Rank intervals need at least two entries.")
