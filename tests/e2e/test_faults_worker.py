"""The worker's faults: killed in the middle of scoring, submissions stuck in queued or scoring,
and files built to hurt it. Nothing is lost, nothing is counted twice, and a bad file fails alone.
"""

from __future__ import annotations

import gzip
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from competitions import services
from competitions.models import Submission
from competitions.worker.evaluation import INTERNAL_ERROR_MESSAGE
from competitions.worker.tasks import sweep_stuck_submissions
from tests.conftest import upload
from tests.e2e.conftest import broker, event_kinds, finished, wait_for, wait_until_scoring

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The replacement worker's sweeper: a row untouched for 3 s is sent again, checked every second.
FAST_SWEEP = {"STUCK_AFTER_SECONDS": "3", "SWEEP_INTERVAL_SECONDS": "1"}


def test_a_worker_killed_while_scoring_is_replaced_and_the_submission_is_scored_once(
    open_phase, participant, good_predictions, private_workers
):
    open_phase.submissions_per_day = 2
    open_phase.bootstrap_resamples = 5000  # seconds of scoring: time to kill the worker in it
    open_phase.save()
    doomed = private_workers.start()
    submission = services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(good_predictions)
    )
    wait_until_scoring(submission.pk)
    doomed.kill()
    killed_at = time.monotonic()
    assert Submission.objects.get(pk=submission.pk).status == "scoring"

    private_workers.start(**FAST_SWEEP)
    private_workers.beat(**FAST_SWEEP)
    scored = wait_for(lambda: finished(submission.pk), timeout=120, what="the replacement")
    recovery = time.monotonic() - killed_at
    assert scored.status == "scored", scored.message
    assert scored.deliveries == 2
    assert event_kinds(scored) == [
        "received", "queued", "started", "requeued", "started", "finished",
    ]
    print(f"recovered {recovery:.1f} s after the kill")  # docs/benchmarks.md

    # Counted once: of the day's two slots, one is left.
    open_phase.bootstrap_resamples = 20
    open_phase.save()
    services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(good_predictions)
    )
    with pytest.raises(ValidationError, match="all 2 submissions for today"):
        services.submission_create(
            phase=open_phase, user=participant.user, upload=upload(good_predictions)
        )


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_a_pool_process_killed_while_scoring_is_redelivered_without_the_sweeper(
    open_phase, participant, good_predictions, private_workers
):
    """A prefork worker whose child dies: the task is rejected back to the queue
    (``reject_on_worker_lost``) and a new child scores it at once."""
    open_phase.bootstrap_resamples = 5000
    open_phase.save()
    worker = private_workers.start(pool="prefork")
    submission = services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(good_predictions)
    )
    wait_until_scoring(submission.pk)
    (child,) = _children(worker.process.pid)
    os.kill(child, signal.SIGKILL)
    scored = wait_for(lambda: finished(submission.pk), timeout=120, what="the redelivery")
    assert scored.status == "scored", scored.message
    assert event_kinds(scored) == ["received", "queued", "started", "started", "finished"]
    assert "WorkerLostError" in worker.log_path.read_text()


def test_the_sweeper_resends_stuck_submissions_and_fails_one_that_keeps_dying(
    celery_worker_process, open_phase, participant, good_predictions, private_redis
):
    """Rows the broker never delivered (it was down), set to the states a dead worker leaves;
    then the beat task, sent to the real worker, sorts them out."""
    open_phase.submissions_per_day = 4
    open_phase.save()
    private_redis.stop()
    with broker(private_redis.url):
        never_sent, died_once, keeps_dying, recent = (
            services.submission_create(
                phase=open_phase, user=participant.user, upload=upload(good_predictions)
            ).pk
            for _ in range(4)
        )
    past = timezone.now() - 2 * settings.STUCK_AFTER
    rows = Submission.objects.filter(pk__in=[never_sent, died_once, keeps_dying])
    rows.update(created_at=past)
    rows.filter(pk__in=[died_once, keeps_dying]).update(status="scoring", started_at=past)
    Submission.objects.filter(pk=died_once).update(deliveries=1)
    Submission.objects.filter(pk=keeps_dying).update(deliveries=settings.SCORING_MAX_DELIVERIES)

    sweep_stuck_submissions.delay()  # what beat sends every SWEEP_INTERVAL_SECONDS

    for pk in (never_sent, died_once, keeps_dying):
        wait_for(lambda pk=pk: finished(pk), timeout=120, what=f"submission {pk}")
    for pk in (never_sent, died_once):
        submission = Submission.objects.get(pk=pk)
        assert submission.status == "scored", submission.message
        assert event_kinds(submission)[-3:] == ["requeued", "started", "finished"]
    given_up = Submission.objects.get(pk=keeps_dying)
    assert given_up.status == "failed"
    assert "did not finish after 3 attempts" in given_up.message
    assert event_kinds(given_up)[-1] == "failed"
    still = Submission.objects.get(pk=recent)
    assert still.status == "queued"  # not stuck yet: left alone
    assert "queue is unreachable" in still.message
    Submission.objects.filter(pk=recent).update(status="failed")  # nothing left for the worker


def _gzip_bomb() -> bytes:
    """Gzip members of 64 MiB of zeros each (64 KiB compressed), expanding past the limit."""
    member = gzip.compress(bytes(64 << 20), compresslevel=9)
    return member * (settings.SUBMISSION_MAX_BYTES // (64 << 20) + 1)


def _garbage_rows(size: int) -> bytes:
    """About ``size`` bytes of well-formed CSV rows of made-up cases: the worker reads it all."""
    rng = np.random.default_rng(8)
    n = size // 21
    ids, scores = rng.integers(0, 10**12, n).tolist(), np.round(rng.normal(size=n), 4).tolist()
    rows = "\n".join(f"g{case:012d},{score}" for case, score in zip(ids, scores, strict=True))
    return f"case_id,score\n{rows}\n".encode()


def test_corrupt_and_enormous_files_fail_with_a_message_and_the_worker_goes_on(
    celery_worker_process, open_phase, participant, good_predictions
):
    open_phase.submissions_per_day = 5
    open_phase.save()
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + np.random.default_rng(1).bytes(4096)
    files = {
        "gzip bomb": (_gzip_bomb(), "when decompressed"),
        "50 MB of garbage": (_garbage_rows(50 * 10**6), "are not in the ground truth"),
        "a PNG image": (png, "not UTF-8 text"),
        "truncated gzip": (gzip.compress(good_predictions)[:5000], "truncated"),
    }
    sent = {
        name: services.submission_create(
            phase=open_phase, user=participant.user, upload=upload(content)
        ).pk
        for name, (content, _expected) in files.items()
    }
    good = services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(good_predictions)
    ).pk
    for name, pk in sent.items():
        failed = wait_for(lambda pk=pk: finished(pk), timeout=120, what=name)
        assert failed.status == "failed", name
        assert failed.message and failed.message != str(INTERNAL_ERROR_MESSAGE), name
        assert files[name][1] in failed.message, (name, failed.message)
    scored = wait_for(lambda: finished(good), timeout=120, what="the good file after them")
    assert scored.status == "scored", scored.message
