"""The challenge report's Celery task (field queue): thin, by id, idempotent.

It sits beside the report rather than in ``competitions.worker.tasks`` because the report reads
what the pages read (the selectors), which the worker package never imports; it is sent by
name through ``competitions.worker.dispatch`` like every task.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils.translation import gettext as _

from cheetah.transient import TRANSIENT_ERRORS
from competitions.report.store import (
    ReportRefused,
    report_claim,
    report_fail,
    report_record,
    report_release,
    report_render,
)
from competitions.worker import dispatch

logger = logging.getLogger(__name__)


@shared_task(
    name=dispatch.BUILD_REPORT, acks_late=True, reject_on_worker_lost=True,
    soft_time_limit=settings.REPORT_SOFT_TIME_LIMIT, time_limit=settings.REPORT_TIME_LIMIT,
    autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, retry_backoff_max=300, max_retries=3,
)
def build_phase_report(report_id: int) -> str:
    """Build a stored report (``competitions.report.store``); returns what became of it."""
    report = report_claim(report_id)
    if report is None:
        return "skipped"
    try:
        files = report_render(report)
    except SoftTimeLimitExceeded:
        report_fail(report, _("Building the report took longer than %(s)d seconds and was "
                              "stopped. Try again; if it happens again, ask the platform's "
                              "administrators to raise REPORT_SOFT_TIME_LIMIT.")
                    % {"s": settings.REPORT_SOFT_TIME_LIMIT})
        return "failed"
    except ReportRefused as refused:
        report_fail(report, str(refused))
        return "failed"
    except TRANSIENT_ERRORS:
        report_release(report)
        raise  # retried with backoff; the next attempt claims the row again
    except Exception:
        logger.exception("Building report %s failed with an internal error", report_id)
        report_fail(report, _("The report could not be built because of an internal error "
                              "(the administrators find it in the worker's log). Try again."))
        return "failed"
    return "ready" if report_record(report, files) else "superseded"
