"""The sweeper's part for challenge reports: none stays "building" for ever.

A build whose message was lost (the broker was down) or whose worker died (killed at the hard
time limit, the machine went away) leaves its row building. Past ``REPORT_STUCK_AFTER`` since
its request or its last start, it is sent again; once it was started ``REPORT_MAX_ATTEMPTS``
times without finishing it is failed with a message, and the report page offers to try again.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from competitions.models import PhaseReport
from competitions.worker.dispatch import report_send


def reports_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Send stuck builds again or fail them; returns the counts for the log."""
    now = now or timezone.now()
    cutoff = now - settings.REPORT_STUCK_AFTER
    counts = {"reports_requeued": 0, "reports_failed": 0}
    resend: list[int] = []
    with transaction.atomic():
        stuck = PhaseReport.objects.select_for_update(skip_locked=True).filter(
            status=PhaseReport.Status.BUILDING)
        for report in stuck:
            if (report.started_at or report.requested_at) > cutoff:
                continue
            if report.attempts >= settings.REPORT_MAX_ATTEMPTS:
                report.status = PhaseReport.Status.FAILED
                report.step = ""
                report.finished_at = now
                report.message = _(
                    "The report could not be built: its worker stopped %(n)d times before it "
                    "was done. Try again; if it fails again, ask the platform's administrators."
                ) % {"n": report.attempts}
                report.save(update_fields=["status", "step", "finished_at", "message"])
                counts["reports_failed"] += 1
                continue
            # A fresh request time, so the next sweep waits a full REPORT_STUCK_AFTER again.
            report.requested_at = now
            report.started_at = None
            report.step = _("Waiting for a worker")
            report.save(update_fields=["requested_at", "started_at", "step"])
            resend.append(report.pk)
        transaction.on_commit(lambda: [report_send(pk) for pk in resend])
    counts["reports_requeued"] = len(resend)
    return counts
