"""Asking for the challenge report: find the stored report of the phase's current state, or
start (once) a worker building it; start a failed one again.

Who may ask is the view's question (organisers any time, others once the phase has ended and
its scores are published). The report itself is built in ``competitions.report.store``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from competitions.models import Phase, PhaseReport
from competitions.report.keys import report_key
from competitions.worker.dispatch import report_enqueue


def phase_report_request(*, phase: Phase, audience: str, user) -> PhaseReport:
    """The report of ``phase``'s current state for ``audience``: ready, failed or building.

    The first request for a state creates its row and sends one build to the worker; later
    ones (and concurrent ones: the unique constraint decides) find that row. Reports of older
    states of the phase for the audience are deleted with their files.
    """
    key = report_key(phase)
    lookup = {"phase": phase, "audience": audience, "snapshot_version": key.snapshot_version,
              "inputs": key.inputs}
    found = PhaseReport.objects.filter(**lookup).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            report = PhaseReport.objects.create(
                **lookup, requested_by=user if _signed_in(user) else None,
                step=_("Waiting for a worker"))
            stale = list(PhaseReport.objects.filter(phase=phase, audience=audience)
                         .exclude(pk=report.pk))
            if stale:
                PhaseReport.objects.filter(pk__in=[r.pk for r in stale]).delete()
                transaction.on_commit(lambda: _files_delete(stale))
            report_enqueue(report)
    except IntegrityError:  # another request created it first
        return PhaseReport.objects.get(**lookup)
    return report


def phase_report_retry(*, report: PhaseReport, user) -> PhaseReport:
    """Build a failed report again (the organiser's or visitor's "try again")."""
    with transaction.atomic():
        current = PhaseReport.objects.select_for_update().get(pk=report.pk)
        if current.status != PhaseReport.Status.FAILED:
            raise ValidationError(_("The report is not in a failed state."))
        current.status = PhaseReport.Status.BUILDING
        current.message = ""
        current.step = _("Waiting for a worker")
        current.attempts = 0
        current.requested_at = timezone.now()
        current.started_at = current.finished_at = None
        if _signed_in(user):
            current.requested_by = user
        current.save()
        report_enqueue(current)
    return current


def _signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _files_delete(reports: list[PhaseReport]) -> None:
    for report in reports:
        for field in (report.html, report.pdf, report.tables):
            if field:
                field.storage.delete(field.name)
