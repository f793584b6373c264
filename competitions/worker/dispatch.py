"""The one place that sends work to the queue: by task name, after commit, quietly.

Services, the admin and the worker itself ask for work here and never import the tasks, so no
module that writes needs the module that runs (the old import circle services ↔ tasks ↔
evaluation ↔ leaderboards went through such imports). Tasks are sent by name; the names are the
ones the tasks had before they moved into ``competitions.worker``, so messages queued by an
older release are still understood.

The database row, not the broker, is the truth. When the broker cannot be reached:

- a submission stays queued with a message its team sees, and the sweeper sends it again;
- the follow-ups — re-ranking a phase, analysing its snapshots, updating its similarity — are
  derived data: the request that asked for them still succeeds, the failure is logged, and the
  sweeper asks again for phases whose leaderboards lag behind (``worker.snapshots``) and for
  snapshots whose analyses never ran (``worker.analyses``).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy

from cheetah.queue import send_quietly
from competitions.models import Phase, PhaseReport, Submission

logger = logging.getLogger(__name__)

SCORE_SUBMISSION = "competitions.tasks.score_submission"
REFRESH_LEADERBOARDS = "competitions.tasks.refresh_phase_leaderboards"
COMPUTE_SIMILARITY = "competitions.tasks.compute_phase_similarity"
ANALYSE_SNAPSHOTS = "competitions.tasks.analyse_leaderboard_snapshots"
SWEEP = "competitions.tasks.sweep_stuck_submissions"
BUILD_REPORT = "competitions.tasks.build_phase_report"

QUEUE_UNREACHABLE_MESSAGE = gettext_lazy(
    "Received and saved. The scoring queue is unreachable at the moment; scoring will start "
    "automatically when it is back."
)
REPORT_QUEUE_UNREACHABLE_MESSAGE = gettext_lazy(
    "The queue is unreachable at the moment; the report will be built when it is back."
)


def submission_enqueue(submission: Submission) -> None:
    """Send the submission to a worker once the surrounding transaction commits.

    When the broker cannot be reached the row stays queued with a message the team sees
    (``submission.message`` tells the caller), so an outage never turns an upload into an error.
    """
    transaction.on_commit(lambda: _send_for_scoring(submission))


def _send_for_scoring(submission: Submission) -> None:
    if send_quietly(SCORE_SUBMISSION, submission.pk):
        return
    submission.message = str(QUEUE_UNREACHABLE_MESSAGE)
    Submission.objects.filter(pk=submission.pk, status=Submission.Status.QUEUED).update(
        message=submission.message
    )


def leaderboards_refresh_enqueue(phase: Phase) -> None:
    """Ask the worker to re-rank the phase once the current transaction commits.

    The request is counted on the phase row in the caller's transaction, so it commits together
    with the change that prompted it (a scored submission, a team's pick, a new board); the
    worker skips a request that a refresh since has covered (``worker.snapshots``).
    """
    pk = phase.pk
    with transaction.atomic():
        Phase.objects.filter(pk=pk).update(leaderboard_version=F("leaderboard_version") + 1)
        version = Phase.objects.values_list("leaderboard_version", flat=True).get(pk=pk)
    transaction.on_commit(lambda: send_quietly(REFRESH_LEADERBOARDS, pk, version))


def leaderboards_refresh_send(phase_id: int, version: int) -> bool:
    """Send a refresh already counted on the phase (the sweeper's second ask)."""
    return send_quietly(REFRESH_LEADERBOARDS, phase_id, version)


def analyses_enqueue(phase: Phase) -> None:
    """Analyse the phase's pending snapshots (rank intervals, paired tests) on the field queue
    once the current transaction commits."""
    pk = phase.pk
    transaction.on_commit(lambda: send_quietly(ANALYSE_SNAPSHOTS, pk))


def analyses_send(phase_id: int) -> bool:
    """Ask again for analyses a lost message or a dead worker left pending (the sweeper)."""
    return send_quietly(ANALYSE_SNAPSHOTS, phase_id)


def similarity_enqueue(phase: Phase, *, full: bool = False) -> None:
    """Recompute the field's similarity in a worker once the current transaction commits."""
    pk = phase.pk
    transaction.on_commit(
        lambda: send_quietly(
            COMPUTE_SIMILARITY, pk, full=full, requested_at=timezone.now().isoformat()
        )
    )


def report_enqueue(report: PhaseReport) -> None:
    """Have a worker (field queue) build the challenge report once the transaction commits;
    when the broker is down the row says so and the sweeper sends it again."""
    pk = report.pk

    def send() -> None:
        if not send_quietly(BUILD_REPORT, pk):
            PhaseReport.objects.filter(pk=pk, status=PhaseReport.Status.BUILDING).update(
                message=str(REPORT_QUEUE_UNREACHABLE_MESSAGE))

    transaction.on_commit(send)


def report_send(report_id: int) -> bool:
    """Send a build already recorded on its row (the sweeper's second ask)."""
    return send_quietly(BUILD_REPORT, report_id)
