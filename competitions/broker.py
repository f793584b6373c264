"""Sending follow-up work to the queue without letting a broker outage break the request.

Scoring a submission has its own recovery (the row stays queued and the sweeper sends it
again, see ``services.submission_enqueue``). The follow-ups — re-ranking a phase, updating its
similarity — are derived data: when the broker is unreachable the request that asked for them
still succeeds, the failure is logged, and the sweeper asks again for phases whose leaderboards
lag behind (``leaderboards.stale_phases_refresh``).
"""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError as KombuOperationalError

logger = logging.getLogger(__name__)

BROKER_ERRORS = (KombuOperationalError, OSError)


def send_quietly(task, *args, **kwargs) -> bool:
    """``task.delay(*args, **kwargs)``; False (and a warning in the log) if the broker is down."""
    try:
        task.delay(*args, **kwargs)
    except BROKER_ERRORS:
        logger.warning("Could not send %s%r: the broker is unreachable", task.name, args,
                       exc_info=True)
        return False
    return True
