"""Celery beat tasks: announce post-surveys after their phase ends, purge answers past retention.

Both receive nothing or ids and re-read the rows; both are idempotent (a notice is unique per
survey and user and is e-mailed once; a purged study is marked), so a second run changes nothing.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from cheetah.transient import TRANSIENT_ERRORS
from surveys import selectors, services
from surveys.models import Survey

logger = logging.getLogger(__name__)

BEAT_TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": 240,
    "time_limit": 300,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "max_retries": 3,
}


@shared_task(**BEAT_TASK_OPTIONS)
def announce_post_surveys() -> int:
    """E-mail and notify participants of every open post-survey whose phase has ended (at its
    current version: an older one is not announced again)."""
    now = timezone.now()
    sent = 0
    due = selectors.current_versions(
        Survey.objects.filter(
            trigger=Survey.Trigger.PHASE_END,
            phase__end__lte=now,
            opens_at__lte=now,
            closes_at__gt=now,
        )
    ).values_list("pk", flat=True)
    for survey_id in due:
        sent += services.post_survey_announce(survey_id=survey_id)
    if sent:
        logger.info("Post-survey e-mails sent: %d", sent)
    return sent


@shared_task(**BEAT_TASK_OPTIONS)
def purge_answers_past_retention() -> int:
    removed = services.studies_past_retention_purge()
    if removed:
        logger.warning("Deleted %d responses past their study's retention date", removed)
    return removed
