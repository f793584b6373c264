"""The challenge report of a phase: the results, similarity and compute pages' figures with
their tables, and the BIAS checklist, in one self-contained HTML page (inline CSS, inline SVG,
no external asset) and its PDF.

Every number comes from the pages' selectors with the viewer's ``user``, so the report a
participant or the public gets holds exactly what ``competitions.release`` lets them see; the
organisers' report holds everything. The PDF (WeasyPrint: the same HTML and CSS rendered
without a browser) is the same page.
"""

from __future__ import annotations

import logging

from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML

from competitions import selectors
from competitions.models import Phase, Submission, Team
from competitions.presentation.charts import SIGNIFICANCE_MAP_ENTRIES, blob_plot
from competitions.release import released_splits, viewer_for
from competitions.report.bias import bias_checklist
from scoring.errors import InputError

logger = logging.getLogger(__name__)

# The report shows this many entries (the best ranked) in the significance map, the pairwise
# tables (significance, similarity) and the blob plot; the full tables ship beside it as CSV
# (``presentation.report_tables``). The results page's map draws as many.
PDF_ENTRIES = SIGNIFICANCE_MAP_ENTRIES
LABEL_BIAS_SHARE = 0.5


def report_context(phase: Phase, user) -> dict:
    """Everything the report template shows, as ``user`` may see it."""
    challenge = phase.challenge
    viewer = viewer_for(user, phase)
    split = released_splits(viewer)[-1]
    boards = selectors.phase_leaderboards_for(phase, user)
    board = next((b for b in boards if b.is_primary), boards[0] if boards else None)
    context: dict = {"challenge": challenge, "phase": phase, "split": split, "board": board,
                     "is_organiser": viewer.organiser, "generated_at": timezone.now(),
                     "raters": None, "levelling": None}
    if board is not None:
        context |= selectors.results_view(board, split=split, user=user)
        if len((context.get("table") or {}).get("rows", [])) > PDF_ENTRIES:
            # A blob plot of hundreds of rows is illegible on a page (and slow to lay out);
            # every entry's rank interval is in leaderboard.csv.
            context["blobs"] = blob_plot(context["table"], entries_drawn=PDF_ENTRIES)
    context["similarity"] = selectors.similarity_view(
        phase, split=split, show_label_measures=viewer.organiser or phase.has_ended, user=user)
    context["similarity_shown"] = _first_entries(context["similarity"], context.get("table"))
    context["pdf_entries"] = PDF_ENTRIES
    context["truncated"] = len((context.get("table") or {}).get("rows", [])) > PDF_ENTRIES
    context["compute"] = selectors.compute_view(phase, split=split, user=user)
    context["label_bias"] = _label_bias(board, split, context) if viewer.organiser else None
    if board is not None:
        context["raters"] = selectors.phase_raters(phase, viewer, board=board, split=split)
    context["bias"] = bias_checklist(_facts(phase, board, context))
    return context


def _first_entries(similarity: dict, table: dict | None) -> dict:
    """The similarity heatmaps restricted to the ``PDF_ENTRIES`` best-ranked entries (all of
    them when the field is no larger); every entry stays in the CSV."""
    teams = similarity.get("teams") or []
    if len(teams) <= PDF_ENTRIES:
        return similarity
    ranked = [row["team"] for row in (table or {}).get("rows", [])][:PDF_ENTRIES]
    keep = [i for i, team in enumerate(teams) if team in set(ranked)] or list(
        range(PDF_ENTRIES))
    return {**similarity, "teams": [teams[i] for i in keep],
            "heatmaps": [{**heat, "rows": [{**heat["rows"][i], "cells": [
                heat["rows"][i]["cells"][j] for j in keep]} for i in keep]}
                for heat in similarity.get("heatmaps", [])]}


def _label_bias(board, split: str, context: dict) -> dict | None:
    """The stress test on the first ground-truth group, half its positives hidden (seed 0)."""
    table = context.get("table") or {}
    populations = selectors.truth_populations(board.phase) if board else []
    if not populations or not table.get("rows"):
        return None
    attribute, group = populations[0].split("=", 1)
    try:
        return selectors.label_bias_rows(
            board, split, attribute=attribute, group=group, share=LABEL_BIAS_SHARE, seed=0,
            names={row["submission"]: row["team"] for row in table["rows"]})
    except (InputError, OSError) as exc:
        # The section is left out, not the report (a per-case file is unreadable, say).
        logger.warning("Report of %s: no label-bias stress test: %s", board.phase, exc)
        return None


def _facts(phase: Phase, board, context: dict) -> dict[str, str]:
    """What the platform knows for the BIAS items, in words."""
    challenge = phase.challenge
    phases = list(challenge.phases.order_by("start"))
    table = context.get("table") or {}
    report = phase.truth_report or {}
    groups = [f"{item['attribute']}: " + ", ".join(
        f"{g['group']} ({g.get('n', '?')})" for g in item.get("groups", []))
        for item in report.get("attributes", [])]
    columns = [c.get("id", "") if isinstance(c, dict) else str(c)
               for c in table.get("columns", [])]
    teams = Team.objects.filter(challenge=challenge).count()
    submissions = Submission.objects.filter(phase=phase).count()
    return {
        "title": challenge.title,
        "lifecycle": f"{len(phases)} phase(s)",
        "platform": "Cheetah",
        "schedule": "; ".join(f"{p.name}: {p.start:%Y-%m-%d} – {p.end:%Y-%m-%d}" for p in phases),
        "rules": "Participants accept the challenge rules on joining." if challenge.rules else "",
        "evaluation_code": "The scoring library (scoring/) of the Cheetah platform.",
        "participation": f"Up to {phase.submissions_per_day} submissions per team and day.",
        "task": f"Image-level {challenge.task} classification.",
        "metrics": ", ".join(columns),
        "cases": "Public and private test splits." if phase.has_private_cases
        else "One public test split.",
        "raters": _raters_fact(context.get("raters")),
        "label_bias": "Label-bias stress test below." if context.get("label_bias") else "",
        "groups": "; ".join(groups),
        "ranking": f"{board.get_ranking_display()} on {board.name}" if board else "",
        "statistics": "Bootstrap intervals, rank intervals, paired tests with Holm's correction."
        if table.get("rows") else "",
        "further": "Sensitivity panel, similarity and ensembles, compute against score.",
        "numbers": f"{teams} teams, {submissions} submissions",
        "leaderboard": f"{len(table.get('rows', []))} entries, below." if table else "",
    }


def report_html(phase: Phase, user, request=None) -> str:
    """The report as one self-contained HTML page. Served as a page, it is rendered with the
    request so its one ``<style>`` carries the Content-Security-Policy nonce; for the PDF no
    request is needed (WeasyPrint applies no policy)."""
    return report_page(report_context(phase, user), request)


def report_page(context: dict, request=None) -> str:
    """The page of a ``report_context`` (the worker renders it once for HTML, PDF and CSV)."""
    return render_to_string("competitions/report.html", context, request=request)


def report_pdf(html: str) -> bytes:
    """The HTML page as PDF (WeasyPrint; no network: the page has no external asset)."""
    return HTML(string=html, base_url=None).write_pdf()


def _raters_fact(raters: dict | None) -> str:
    """The BIAS item on annotators, from the raters' section when the ground truth has them."""
    if not raters:
        return ""
    names = [ref["label"] for ref in raters.get("references", [])]
    return f"{len(names)} references ({', '.join(names)}); raters' agreement in the report."
