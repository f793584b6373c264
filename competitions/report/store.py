"""Building a stored challenge report in a worker: claim the row, render HTML, PDF and the CSV
tables, store the files, mark it ready — or failed with a message the page shows.

The row is the truth (``PhaseReport``): a claim takes it only while it is building and no other
run holds it (``started_at`` within ``REPORT_STUCK_AFTER``); the result is written only if the
row is still this run's (same attempt, still building, not replaced by a newer state of the
phase), otherwise the files just written are deleted. Running a build twice stores one report.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from competitions.models import PhaseReport
from competitions.permissions import is_organiser
from competitions.presentation.report_tables import report_tables_zip
from competitions.report.build import report_context, report_page, report_pdf


class ReportRefused(Exception):
    """The report cannot be built as asked (a final failure, its message shown as it is)."""


@dataclass(frozen=True)
class ReportFiles:
    html: bytes
    pdf: bytes
    tables: bytes


def report_claim(report_id: int) -> PhaseReport | None:
    """Take a building report for this run (a new attempt); None when it is not to be built:
    gone, ready, failed, or held by another run that has not yet overrun its time."""
    now = timezone.now()
    with transaction.atomic():
        report = (
            # of=self: the requesting user is an outer join, which PostgreSQL does not lock.
            PhaseReport.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("phase__challenge", "requested_by").filter(pk=report_id).first()
        )
        if report is None or report.status != PhaseReport.Status.BUILDING:
            return None
        if report.started_at and now - report.started_at < settings.REPORT_STUCK_AFTER:
            return None
        report.attempts += 1
        report.started_at = now
        report.step = _("Reading the results")
        report.message = ""
        report.save(update_fields=["attempts", "started_at", "step", "message"])
    return report


def report_render(report: PhaseReport) -> ReportFiles:
    """The report's three files, for its audience. The HTML is rendered without a request: its
    ``<style>`` gets the page's nonce when it is served (``report_served_html``)."""
    phase = report.phase
    user = _audience_user(report)
    context = report_context(phase, user)
    _step(report, _("Rendering the HTML page"))
    html = report_page(context)
    _step(report, _("Rendering the PDF"))
    pdf = report_pdf(html)
    _step(report, _("Writing the full tables (CSV)"))
    return ReportFiles(html=html.encode(), pdf=pdf, tables=report_tables_zip(context))


def report_record(report: PhaseReport, files: ReportFiles) -> bool:
    """Store the files and mark the report ready, if it is still this run's; False (and no
    file left behind) otherwise."""
    base = f"{report.audience}-{report.snapshot_version}"
    stored = PhaseReport(pk=report.pk, phase_id=report.phase_id)
    stored.html.save(f"{base}.html", ContentFile(files.html), save=False)
    stored.pdf.save(f"{base}.pdf", ContentFile(files.pdf), save=False)
    stored.tables.save(f"{base}-tables.zip", ContentFile(files.tables), save=False)
    with transaction.atomic():
        updated = PhaseReport.objects.filter(
            pk=report.pk, status=PhaseReport.Status.BUILDING, attempts=report.attempts,
        ).update(status=PhaseReport.Status.READY, html=stored.html.name, pdf=stored.pdf.name,
                 tables=stored.tables.name, step="", message="", finished_at=timezone.now())
    if not updated:
        for field in (stored.html, stored.pdf, stored.tables):
            field.storage.delete(field.name)
    return bool(updated)


def report_fail(report: PhaseReport, message: str) -> None:
    """A final failure of this run, with the message the report page shows."""
    PhaseReport.objects.filter(
        pk=report.pk, status=PhaseReport.Status.BUILDING, attempts=report.attempts,
    ).update(status=PhaseReport.Status.FAILED, message=message[:500], step="",
             finished_at=timezone.now())


def report_release(report: PhaseReport) -> None:
    """Give the claim back (a transient error: the task is retried and claims it again)."""
    PhaseReport.objects.filter(pk=report.pk, attempts=report.attempts).update(started_at=None)


def _audience_user(report: PhaseReport):
    """Who the report is built as: the organiser who asked (still an organiser), else another
    organiser of the challenge; a visitor who is not signed in for the public report."""
    if report.audience == PhaseReport.Audience.PUBLIC:
        return AnonymousUser()
    challenge = report.phase.challenge
    user = report.requested_by
    if user is not None and is_organiser(user, challenge):
        return user
    user = challenge.organisers.order_by("pk").first()
    if user is None:
        raise ReportRefused(_("The challenge has no organiser to build the organisers' report "
                              "for; ask again as an organiser."))
    return user


def _step(report: PhaseReport, step: str) -> None:
    PhaseReport.objects.filter(pk=report.pk, attempts=report.attempts).update(step=step)
