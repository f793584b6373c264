"""Celery tasks: thin wrappers that receive ids and call the worker's modules.

Scoring is idempotent (see ``worker.evaluation``), so a redelivered or duplicated message changes
nothing. Only transient infrastructure errors are retried; a bad file is a final ``failed``.
Tasks keep the names they had before they moved here (``worker.dispatch`` sends by name).
"""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from cheetah.transient import TRANSIENT_ERRORS
from competitions.models import Phase
from competitions.notices import phase_changes_announce
from competitions.worker import dispatch, evaluation
from competitions.worker.analyses import phase_snapshots_analyse, stale_analyses_resend
from competitions.worker.housekeeping import bundle_stashes_purge
from competitions.worker.reports import reports_sweep
from competitions.worker.similarity import phase_similarity_compute, similarity_fresh_since
from competitions.worker.snapshots import phase_leaderboards_refresh, stale_phases_refresh

logger = logging.getLogger(__name__)


# Tasks that read a whole field's files: acknowledged only when done (a lost worker means a
# redelivery on Redis), bounded in time, retried with backoff on transient errors only.
LONG_TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": settings.SCORING_SOFT_TIME_LIMIT,
    "time_limit": settings.SCORING_TIME_LIMIT,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 300,
}


@shared_task(name=dispatch.SCORE_SUBMISSION, **LONG_TASK_OPTIONS, max_retries=5)
def score_submission(submission_id: int) -> None:
    claim = evaluation.submission_claim(submission_id)
    if claim is None:
        return
    try:
        evaluation.submission_score(claim)
    except SoftTimeLimitExceeded:
        evaluation.submission_record_failure(
            claim,
            _("Scoring took longer than %(s)d seconds and was stopped.")
            % {"s": settings.SCORING_SOFT_TIME_LIMIT},
        )
    except TRANSIENT_ERRORS:
        raise  # retried with backoff; the claim is taken again on the next attempt
    except Exception:
        logger.exception("Scoring submission %s failed with an internal error", submission_id)
        evaluation.submission_fail_internal(claim)


@shared_task(name=dispatch.SWEEP, acks_late=True, autoretry_for=TRANSIENT_ERRORS,
             retry_backoff=True, max_retries=3)
def sweep_stuck_submissions() -> dict[str, int]:
    counts = evaluation.submissions_sweep()
    counts["leaderboards"] = stale_phases_refresh()
    counts["analyses"] = stale_analyses_resend()
    counts |= reports_sweep()
    if any(counts.values()):
        logger.warning("Sweeper: %s", counts)
    return counts


@shared_task(name="competitions.tasks.announce_phase_changes", acks_late=True,
             autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def announce_phase_changes() -> int:
    """Tell participants about phases that opened or closed since the last runs (idempotent:
    each phase event is one notice per person)."""
    return phase_changes_announce(now=timezone.now())


@shared_task(name="competitions.tasks.purge_stale_bundles", acks_late=True,
             autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def purge_stale_bundles() -> int:
    """Delete bundles uploaded for a preview and never imported (idempotent)."""
    return bundle_stashes_purge()


@shared_task(name=dispatch.COMPUTE_SIMILARITY, **LONG_TASK_OPTIONS, max_retries=3)
def compute_phase_similarity(
    phase_id: int, full: bool = False, requested_at: str | None = None
) -> int:
    """Update a phase's similarity report and ensembles (``full``: every row); idempotent.

    ``requested_at`` (ISO time the update was asked for): nothing is done when a report that
    began after it is already stored, as happens to all but the first of a burst of updates.
    """
    phase = Phase.objects.select_related("challenge").filter(pk=phase_id).first()
    if phase is None or not phase.ground_truth:
        return 0
    if not full and requested_at and similarity_fresh_since(phase, _time(requested_at)):
        return 0
    return len(phase_similarity_compute(phase=phase, full=full))


@shared_task(name=dispatch.REFRESH_LEADERBOARDS, **LONG_TASK_OPTIONS, max_retries=3)
def refresh_phase_leaderboards(phase_id: int, version: int | None = None) -> int:
    """Recompute every leaderboard snapshot of a phase, unless a refresh since ``version`` did;
    running it twice stores the same rows."""
    phase = Phase.objects.select_related("challenge").filter(pk=phase_id).first()
    if phase is None:
        return 0
    return len(phase_leaderboards_refresh(phase, version=version))


@shared_task(name=dispatch.ANALYSE_SNAPSHOTS, **LONG_TASK_OPTIONS, max_retries=3)
def analyse_leaderboard_snapshots(phase_id: int) -> int:
    """Compute the rank intervals and paired tests of the phase's snapshots not yet analysed
    (field queue); a snapshot is analysed once, so running it twice changes nothing."""
    phase = Phase.objects.select_related("challenge").filter(pk=phase_id).first()
    if phase is None:
        return 0
    return len(phase_snapshots_analyse(phase))


def _time(iso: str) -> datetime:
    return datetime.fromisoformat(iso)
