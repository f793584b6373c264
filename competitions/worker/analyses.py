"""The field's analyses of a leaderboard snapshot — the bootstrap rank intervals
(``worker.robustness``) and the paired tests between entries (``worker.significance``) — on the
field queue, once per snapshot.

They cost several times the scoring itself (thousands of paired resamples per board and split)
and nothing about a submission's own result depends on them, so the scoring queue stores the
ranking and goes on to the next submission; the intervals and tie marks follow. The snapshot's
``analysis`` state says which: ``pending`` (pages say "being computed") until they are stored,
then ``done``.

Once per snapshot, whatever the messages:

- ``snapshot_compute`` (scoring queue) stores each new ranking as pending and the refresh asks for
  the analyses after commit (``dispatch.analyses_enqueue``), one message per phase;
- a field worker claims the phase's pending snapshots nobody is working on (a short lock; none
  is held while computing), computes, and stores the results with the state ``done`` only if
  the snapshot is still the one it read (same ``computed_at``): a newer ranking supersedes it,
  and its own request analyses it. A snapshot already done is skipped, so a message delivered
  twice, or a burst of requests for one phase, costs a query each after the first;
- a request lost on the way (the broker was down, the worker died) leaves the snapshot pending:
  the sweeper asks again (``stale_analyses_resend``), as it does for stuck submissions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from competitions.case_results import phase_truth
from competitions.models import Leaderboard, LeaderboardSnapshot, Phase
from competitions.worker.dispatch import analyses_send
from competitions.worker.robustness import robustness_apply, robustness_compute
from competitions.worker.significance import ALPHA, significance_apply, significance_compute

logger = logging.getLogger(__name__)

PENDING = LeaderboardSnapshot.Analysis.PENDING
DONE = LeaderboardSnapshot.Analysis.DONE

TIMED_OUT_NOTE = "The analyses took longer than the worker's time limit and were stopped."


@dataclass(frozen=True)
class Claimed:
    """A snapshot a field worker took: its row, the ranking it analyses (``computed_at``
    identifies it) and the entries in board order."""

    pk: int
    board: Leaderboard
    split: str
    computed_at: datetime
    ids: list[int]


def _abandoned_before(now: datetime) -> datetime:
    """A claim older than the task's hard time limit belongs to a worker that died."""
    return now - timedelta(seconds=settings.SCORING_TIME_LIMIT)


def _claim(phase: Phase, now: datetime) -> list[Claimed]:
    with transaction.atomic():
        rows = list(
            # Only the snapshot rows (of="self"): the board's row is the scoring queue's lock
            # while it ranks (snapshot_compute), and the phase's is its request counter's.
            LeaderboardSnapshot.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(leaderboard__phase=phase, analysis=PENDING)
            .filter(Q(analysis_started_at__isnull=True)
                    | Q(analysis_started_at__lt=_abandoned_before(now)))
            .select_related("leaderboard__phase__challenge").defer("groups")
            .order_by("leaderboard__order", "leaderboard_id", "split")
        )
        LeaderboardSnapshot.objects.filter(pk__in=[row.pk for row in rows]).update(
            analysis_started_at=now
        )
    return [Claimed(pk=row.pk, board=row.leaderboard, split=row.split,
                    computed_at=row.computed_at, ids=[r["submission"] for r in row.rows])
            for row in rows]


def _store(claimed: Claimed, robustness: tuple[dict | None, str],
           significance: tuple[dict, dict]) -> LeaderboardSnapshot | None:
    """Store the analyses with the snapshot they were computed for; None (nothing stored)
    when a newer ranking replaced it meanwhile."""
    with transaction.atomic():
        current = (LeaderboardSnapshot.objects.select_for_update()
                   .filter(pk=claimed.pk, computed_at=claimed.computed_at, analysis=PENDING)
                   .defer("groups").first())
        if current is None:
            return None
        robustness_apply(current, *robustness)
        significance_apply(current, *significance)
        current.analysis = DONE
        current.analysed_at = timezone.now()
        current.save(update_fields=["rows", "summary", "robustness", "robustness_note",
                                    "analysis", "analysed_at"])
    return current


def phase_snapshots_analyse(phase: Phase, *, now: datetime | None = None
                            ) -> list[LeaderboardSnapshot]:
    """Compute and store the analyses of the phase's pending snapshots; return those stored.

    Idempotent: snapshots already analysed, or being analysed by another worker, are left
    alone. Under the task's soft time limit the snapshots not yet analysed are stored with a
    note instead, so the sweeper does not send them again and again."""
    now = now or timezone.now()
    claimed = _claim(phase, now)
    if not claimed:
        return []
    stored: list[LeaderboardSnapshot] = []
    try:
        # One parse of the ground truth for every board and split, not one each.
        truth = phase_truth(phase) if phase.ground_truth else None
        for item in claimed:
            robustness = robustness_compute(item.board, item.split, item.ids, truth)
            significance = significance_compute(item.board, item.split, item.ids, truth)
            snapshot = _store(item, robustness, significance)
            if snapshot is not None:
                stored.append(snapshot)
    except SoftTimeLimitExceeded:
        logger.warning("Phase %s: snapshot analyses stopped at the time limit", phase.pk)
        done = {snapshot.pk for snapshot in stored}
        for item in claimed:
            if item.pk not in done:
                comparison = {"alpha": ALPHA, "pairs": [], "entries": [], "adjacent": [],
                              "note": TIMED_OUT_NOTE}
                _store(item, (None, TIMED_OUT_NOTE), (comparison, {}))
    except BaseException:
        # A transient error (retried by the task) or a crash: give the claims back, so the
        # retry takes them at once instead of waiting out the time limit as for a dead worker.
        _release([item.pk for item in claimed], now)
        raise
    return stored


def _release(pks: list[int], claimed_at: datetime) -> None:
    try:
        LeaderboardSnapshot.objects.filter(pk__in=pks, analysis=PENDING,
                                           analysis_started_at=claimed_at).update(
            analysis_started_at=None)
    except DatabaseError:
        logger.warning("Snapshots %s: claims not released (the sweeper takes them later)", pks)


def stale_analyses(now: datetime):
    """Pending snapshots asked for ``STUCK_AFTER`` ago and not being worked on: their request
    was lost (broker down) or the worker that took it died."""
    cutoff = now - settings.STUCK_AFTER
    return LeaderboardSnapshot.objects.filter(analysis=PENDING).filter(
        Q(analysis_requested_at__isnull=True) | Q(analysis_requested_at__lt=cutoff)
    ).filter(Q(analysis_started_at__isnull=True)
             | Q(analysis_started_at__lt=_abandoned_before(now)))


def stale_analyses_resend(*, now: datetime | None = None) -> int:
    """Ask again, once per phase, for the analyses of every stale snapshot (see
    ``stale_analyses``); the next sweep waits a full ``STUCK_AFTER`` again. Returns how many
    phases were asked for."""
    now = now or timezone.now()
    stale = stale_analyses(now)
    phases = sorted(set(stale.values_list("leaderboard__phase_id", flat=True)))
    if not phases:
        return 0
    stale.update(analysis_requested_at=now)
    return sum(analyses_send(pk) for pk in phases)
