"""Reads for the challenge report's pages: the stored report of the phase's current state, its
status for the progress page, and its files as served."""

from __future__ import annotations

from django.urls import reverse

from competitions.models import Phase, PhaseReport
from competitions.report.keys import report_key

REPORT_FORMATS = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "zip": "application/zip",
}


def phase_report_current(phase: Phase, audience: str) -> PhaseReport | None:
    """The report of the phase's current state for ``audience``, if one was asked for; a
    report of an older state is never returned (it is stale)."""
    key = report_key(phase)
    return PhaseReport.objects.filter(
        phase=phase, audience=audience, snapshot_version=key.snapshot_version,
        inputs=key.inputs,
    ).first()


def report_status(phase: Phase, report: PhaseReport | None) -> dict:
    """What the progress page polls: the status, the worker's current step, the message of a
    failure and, once ready, the files' addresses."""
    if report is None:
        return {"status": "missing", "step": "", "message": "", "files": {}}
    files = {}
    if report.status == PhaseReport.Status.READY:
        files = {fmt: reverse("competitions:phase-report",
                              args=[phase.challenge.slug, phase.slug, fmt])
                 for fmt in REPORT_FORMATS}
    return {"status": report.status, "step": report.step, "message": report.message,
            "files": files}


def report_file(report: PhaseReport, fmt: str, *, nonce: str = "") -> bytes:
    """A stored file of a ready report. The page gets the request's Content-Security-Policy
    nonce on its one style element (it was rendered by the worker, without a request), so it
    keeps the site's policy when a browser shows it."""
    field = {"html": report.html, "pdf": report.pdf, "zip": report.tables}[fmt]
    with field.open("rb") as stored:
        content = stored.read()
    if fmt == "html":
        content = content.replace(b'<style nonce="">', f'<style nonce="{nonce}">'.encode(), 1)
    return content
