"""The worker's mail run: after each notice is written, and from beat for what was left."""

from __future__ import annotations

from celery import shared_task

from cheetah.transient import TRANSIENT_ERRORS
from notifications import services


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=240,
    time_limit=300,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    max_retries=3,
)
def send_notice_emails() -> dict[str, int]:
    """Send every pending notice's e-mail. Idempotent: a notice is taken under a lease and
    marked once sent, so two runs at once or one after the other send each e-mail once."""
    return services.notice_emails_send()
