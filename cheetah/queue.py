"""Sending a task by name without ever failing the caller: every app's one way onto the queue.

The database row is the truth and a periodic task picks up whatever a lost message left
behind, so a broker outage is logged here and never turns a request into an error.
"""

from __future__ import annotations

import logging

from celery import current_app
from kombu.exceptions import OperationalError as KombuOperationalError

logger = logging.getLogger(__name__)

BROKER_ERRORS = (KombuOperationalError, OSError)


def send_quietly(name: str, *args, **kwargs) -> bool:
    """Send task ``name`` now; False (and a warning in the log) if the broker is down."""
    try:
        current_app.send_task(name, args=args, kwargs=kwargs)
    except BROKER_ERRORS:
        logger.warning("Could not send %s%r: the broker is unreachable", name, args, exc_info=True)
        return False
    return True
