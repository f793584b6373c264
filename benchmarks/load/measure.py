"""Measure, from the database and the workers' logs, what happened to the load test's uploads.

The database row is the truth for a submission: ``created_at`` (upload accepted), ``started_at``
(a worker claimed it; the last claim when it was delivered more than once) and ``finished_at``.
From them: how many ended scored, failed, or are still queued/scoring (stuck = lost); the queue
wait (created → started) and the scoring time (started → finished). Each Celery worker writes
its own log, whose ``Task … succeeded in Ns`` lines give per worker and per task type how many
tasks ran and how long they kept the worker busy; the follow-up tasks (leaderboard refresh with
bootstrap rank robustness, similarity) are where a worker spends time besides scoring.

    .venv/bin/python benchmarks/load/measure.py --since 2026-11-23T13:00:00+00:00 \
        --worker-log var/load/results/worker1.log --worker-log … [--wait 600] [--json out.json]

``--wait`` first waits (up to that many seconds) until no submission is queued or scoring and
the broker's queue is empty, so the figures include the backlog's drain.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cheetah.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from competitions.models import Submission  # noqa: E402

TASK_LINE = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ .*Task (?P<task>[\w.]+)\[[\w-]+\] "
    r"succeeded in (?P<seconds>[\d.]+)s"
)


def broker_queue_length() -> int | None:
    """Messages waiting in the Redis broker's queue; None for another broker."""
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        return None
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return int(client.llen(settings.CELERY_TASK_DEFAULT_QUEUE))


def wait_for_drain(since: datetime, timeout: float) -> float:
    """Seconds waited until nothing of the run is queued or scoring and the broker is empty."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        pending = Submission.objects.filter(
            created_at__gte=since, status__in=["queued", "scoring"]
        ).count()
        if pending == 0 and not broker_queue_length():
            return time.monotonic() - start
        time.sleep(5)
    return time.monotonic() - start


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    array = np.asarray(values)
    return {
        "n": len(values),
        "p50": round(float(np.percentile(array, 50)), 2),
        "p95": round(float(np.percentile(array, 95)), 2),
        "p99": round(float(np.percentile(array, 99)), 2),
        "max": round(float(array.max()), 2),
        "mean": round(float(array.mean()), 2),
    }


def submissions_summary(since: datetime) -> dict:
    rows = list(
        Submission.objects.filter(created_at__gte=since).values(
            "status", "created_at", "started_at", "finished_at", "deliveries"
        )
    )
    by_status: dict[str, int] = defaultdict(int)
    for row in rows:
        by_status[row["status"]] += 1
    done = [r for r in rows if r["finished_at"] and r["started_at"]]
    waits = [(r["started_at"] - r["created_at"]).total_seconds() for r in rows if r["started_at"]]
    scoring = [(r["finished_at"] - r["started_at"]).total_seconds() for r in done]
    turnaround = [(r["finished_at"] - r["created_at"]).total_seconds() for r in done]
    span = None
    if done:
        first = min(r["created_at"] for r in rows)
        last = max(r["finished_at"] for r in done)
        span = (last - first).total_seconds()
    return {
        "submissions": len(rows),
        "by_status": dict(by_status),
        "redelivered": sum(1 for r in rows if r["deliveries"] > 1),
        "queue_wait_s": percentiles(waits),
        "scoring_s": percentiles(scoring),
        "upload_to_scored_s": percentiles(turnaround),
        "first_upload_to_last_scored_s": span,
    }


def worker_summary(log: Path, since: datetime) -> dict:
    """Per task type: count and busy seconds, from the worker's own log lines after ``since``."""
    tasks: dict[str, dict[str, float]] = defaultdict(lambda: {"count": 0, "busy_s": 0.0})
    first = last = None
    for line in log.read_text(errors="replace").splitlines():
        match = TASK_LINE.match(line)
        if not match:
            continue
        at = datetime.fromisoformat(match["at"]).replace(tzinfo=since.tzinfo)
        if at < since:
            continue
        first, last = first or at, at
        entry = tasks[match["task"].rsplit(".", 1)[-1]]
        entry["count"] += 1
        entry["busy_s"] = round(entry["busy_s"] + float(match["seconds"]), 1)
    for entry in tasks.values():
        entry["mean_s"] = round(entry["busy_s"] / entry["count"], 2)
    return {"log": str(log), "tasks": dict(tasks),
            "busy_s": round(sum(e["busy_s"] for e in tasks.values()), 1),
            "first_done": first.isoformat() if first else None,
            "last_done": last.isoformat() if last else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", required=True, type=datetime.fromisoformat,
                        help="ISO time with offset: the load test's start")
    parser.add_argument("--worker-log", action="append", type=Path, default=[])
    parser.add_argument("--wait", type=float, default=0.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    waited = wait_for_drain(args.since, args.wait) if args.wait else 0.0
    report = {
        "since": args.since.isoformat(),
        "waited_for_drain_s": round(waited, 1),
        "broker_queue_left": broker_queue_length(),
        **submissions_summary(args.since),
        "workers": [worker_summary(log, args.since) for log in args.worker_log],
    }
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
