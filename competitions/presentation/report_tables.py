"""The challenge report's full tables as CSV files in one ZIP, beside the HTML and the PDF.

The PDF shows the first ``PDF_ENTRIES`` entries in its pairwise tables (significance, similarity)
so that a field of hundreds stays readable; these files hold every entry. They are written
from the report's own context — numbers that already passed the release path for the report's
audience — with the project's formula-safe writer (``cheetah.safe_csv``): a team named
``=HYPERLINK(...)`` is text in a spreadsheet.
"""

from __future__ import annotations

import io
import zipfile

from cheetah.safe_csv import SafeWriter
from competitions.presentation.exports import leaderboard_csv, leaderboard_document


def report_tables(context: dict) -> dict[str, str]:
    """File name -> CSV text for every table of the report that has rows."""
    files: dict[str, str] = {}
    table = context.get("table") or {}
    if table.get("rows") and not table.get("hidden"):
        files["leaderboard.csv"] = leaderboard_csv(leaderboard_document(table))
        pairs = _significance_pairs(table)
        if pairs is not None:
            files["significance_pairs.csv"] = pairs
    heatmap = context.get("heatmap")
    if heatmap:
        files[f"subgroups_{context.get('metric') or 'metric'}.csv"] = _csv(
            ["rank", "team", *heatmap["groups"]],
            ([row["rank"], row["team"], *(_blank(c.get("value")) for c in row["cells"])]
             for row in heatmap["rows"]))
    similarity = context.get("similarity") or {}
    for heat in similarity.get("heatmaps") or []:
        files[f"similarity_{heat['measure']}.csv"] = _csv(
            ["team", *similarity["teams"]],
            ([row["team"], *(_blank(c.get("value")) for c in row["cells"])]
             for row in heat["rows"]))
    compute = context.get("compute") or {}
    if compute.get("rows") and not compute.get("hidden"):
        files["compute.csv"] = _csv(
            ["rank", "team", compute.get("metric", ""), "energy_kwh", "pareto_front"],
            ([r["rank"], r["team"], _blank(r.get("value")),
              _blank((r.get("cost") or {}).get("energy_kwh")), int(bool(r.get("on_front")))]
             for r in compute["rows"]))
    return files


def report_tables_zip(context: dict) -> bytes:
    """``report_tables`` as one ZIP (deflated)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in report_tables(context).items():
            archive.writestr(name, text)
    return out.getvalue()


def _significance_pairs(table: dict) -> str | None:
    """Every compared pair (not only those among the first entries the PDF draws)."""
    significance = table.get("significance")
    if not significance:
        return None
    names = {row["submission"]: row["team"] for row in table["rows"]}
    rows = []
    for family in ("pairs", "adjacent"):
        for pair in significance.get(family) or []:
            ci = pair.get("ci") or (None, None)
            significant = pair.get("significant")
            rows.append([family, names.get(pair["a"], "?"), names.get(pair["b"], "?"),
                         _blank(pair.get("difference")), _blank(ci[0]), _blank(ci[1]),
                         _blank(pair.get("p_value")), _blank(pair.get("p_holm")),
                         "" if significant is None else int(significant),
                         pair.get("reason") or ""])
    return _csv(["family", "entry", "against", "difference", "ci_low", "ci_high", "p",
                 "p_holm", "significant", "reason"], rows)


def _csv(header: list, rows) -> str:
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _blank(value) -> object:
    return "" if value is None else value
