"""Quotas hold under concurrency: racing uploads from one team, each in its own thread, database
connection and transaction, accept exactly as many as the quota has left.

The quota is checked while holding a row lock on the team (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite's IMMEDIATE transactions take the database's write lock at BEGIN), so the
count a check reads cannot change before its row is written. The session worker scores what is
accepted, so nothing is left in the queue.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, TimeoutError

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from competitions import services
from competitions.models import Participant, Submission, Team
from tests.conftest import upload
from tests.e2e.conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RACERS = 20
ACCEPTED = "accepted"


def _stored_files(phase) -> list[str]:
    storage = Submission._meta.get_field("file").storage
    folder = f"submissions/{phase.pk}"
    return storage.listdir(folder)[1] if storage.exists(folder) else []


def _upload_in_own_connection(phase, user, content: bytes, start: threading.Barrier | None):
    """One participant's upload in a thread of its own (its own database connection)."""
    try:
        if start is not None:
            start.wait(timeout=30)
        services.submission_create(phase=phase, user=user, upload=upload(content))
        return ACCEPTED
    except ValidationError as exc:
        return exc.messages[0]
    finally:
        connection.close()


@pytest.fixture
def quick_phase(open_phase):
    """Few bootstrap resamples: the worker scores what is accepted in a moment."""
    open_phase.submissions_per_day = 8
    open_phase.bootstrap_resamples = 20
    open_phase.save()
    return open_phase


def test_twenty_simultaneous_uploads_with_five_left_accept_exactly_five(
    celery_worker_process, quick_phase, participant, good_predictions
):
    for _ in range(3):
        services.submission_create(
            phase=quick_phase, user=participant.user, upload=upload(good_predictions)
        )
    stored_before = set(_stored_files(quick_phase))
    start = threading.Barrier(RACERS)
    with ThreadPoolExecutor(RACERS) as pool:
        outcomes = list(
            pool.map(
                lambda _: _upload_in_own_connection(
                    quick_phase, participant.user, good_predictions, start
                ),
                range(RACERS),
            )
        )
    assert outcomes.count(ACCEPTED) == 5
    refusals = [outcome for outcome in outcomes if outcome != ACCEPTED]
    assert len(refusals) == 15
    assert all("used all 8 submissions for today" in refusal for refusal in refusals)
    assert Submission.objects.filter(team=participant.team).count() == 8
    # A refused upload stores nothing.
    assert len(set(_stored_files(quick_phase)) - stored_before) == 5
    wait_for(
        lambda: Submission.objects.filter(team=participant.team, status="scored").count() == 8,
        timeout=120,
        what="the worker to score the eight accepted uploads",
    )


def _switch_team_in_own_connection(participant, start: threading.Barrier) -> str:
    try:
        start.wait(timeout=30)
        services.team_create(participant=participant, name="Switched mid-race")
        return "switched"
    finally:
        connection.close()


def test_racing_uploads_across_a_team_switch_accept_exactly_what_the_person_has_left(
    celery_worker_process, quick_phase, participant, good_predictions
):
    for _ in range(3):
        services.submission_create(
            phase=quick_phase, user=participant.user, upload=upload(good_predictions)
        )
    start = threading.Barrier(RACERS)
    with ThreadPoolExecutor(RACERS) as pool:
        switch = pool.submit(_switch_team_in_own_connection, participant, start)
        uploads = [
            pool.submit(_upload_in_own_connection, quick_phase, participant.user,
                        good_predictions, start)
            for _ in range(RACERS - 1)
        ]
        outcomes = [future.result(timeout=120) for future in uploads]
    assert switch.result() == "switched"
    # The person's quota went with them: 5 were left, in whichever team they uploaded.
    assert outcomes.count(ACCEPTED) == 5
    assert Submission.objects.filter(created_by=participant.user).count() == 8
    wait_for(
        lambda: Submission.objects.filter(created_by=participant.user,
                                          status="scored").count() == 8,
        timeout=120,
        what="the worker to score the eight accepted uploads",
    )


def _waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        # Called inside a transaction, which keeps its first view of the statistics otherwise.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def test_an_upload_waits_for_the_locks_and_then_sees_the_quota_used_up(
    celery_worker_process, quick_phase, participant, good_predictions
):
    """What makes the race safe: the check runs only after the locks are granted. They are
    taken in the service's order, the person's row and then the team's, as every upload and
    team switch takes them (the opposite order would deadlock against an upload)."""
    with ThreadPoolExecutor(1) as pool, transaction.atomic():
        Participant.objects.select_for_update().get(pk=participant.pk)
        Team.objects.select_for_update().get(pk=participant.team_id)
        pending = pool.submit(
            _upload_in_own_connection, quick_phase, participant.user, good_predictions, None
        )
        if connection.vendor == "postgresql":
            wait_for(_waits_on_a_lock, interval=0.05, what="the upload to wait on the lock")
        with pytest.raises(TimeoutError):  # SQLite: blocked on the write lock taken at BEGIN
            pending.result(timeout=1)
        # Meanwhile this transaction, which holds the lock, uses up the team's quota.
        for _ in range(quick_phase.submissions_per_day):
            services.submission_create(
                phase=quick_phase, user=participant.user, upload=upload(good_predictions)
            )
    assert "used all 8 submissions for today" in pending.result(timeout=60)
    assert Submission.objects.filter(team=participant.team).count() == 8
    wait_for(
        lambda: Submission.objects.filter(team=participant.team, status="scored").count() == 8,
        timeout=120,
        what="the worker to score the eight uploads",
    )
