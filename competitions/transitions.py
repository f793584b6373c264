"""A submission's status changes, each written together with its ``SubmissionEvent``.

The team's step log ("received, queued, started, requeued, started, finished") is how
participants and organisers follow a submission, so a status must never change without its
event. Services (upload, rescore) and the worker (claim, record, fail, sweep) all change status
through ``submission_transition``; the caller holds the row lock and the transaction. A
submission that ends (scored or failed) tells its author, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from competitions.models import Submission, SubmissionEvent
from competitions.notices import submission_finished

Kind = SubmissionEvent.Kind
Status = Submission.Status

# The status each event kind leaves the submission in (RECEIVED has none: it precedes QUEUED).
STATUS_AFTER = {
    Kind.QUEUED: Status.QUEUED,
    Kind.REQUEUED: Status.QUEUED,
    Kind.STARTED: Status.SCORING,
    Kind.FINISHED: Status.SCORED,
    Kind.FAILED: Status.FAILED,
}


def submission_transition(
    submission: Submission, kind: str, *, at: datetime, detail: str = "", **fields
) -> SubmissionEvent:
    """Set the status ``kind`` leads to, and ``fields``, on ``submission``; save only those
    fields and record the event at ``at``. ``detail`` is cut to what the log holds."""
    submission.status = STATUS_AFTER[kind]
    for name, value in fields.items():
        setattr(submission, name, value)
    submission.save(update_fields=["status", *fields])
    event = SubmissionEvent.objects.create(
        submission=submission, kind=kind, at=at, detail=(detail or "")[:500]
    )
    if kind in (Kind.FINISHED, Kind.FAILED):
        submission_finished(submission)
    return event
