"""Leaderboards as documents: JSON for programs, CSV for spreadsheets.

Both are built from ``selectors.leaderboard_table``, the page's own data, so an export holds what
the viewer may see on the page and nothing more (no hidden scores, no values of small groups
or of the groups hidden with them for participants, no private split before the end).
"""

from __future__ import annotations

import io

from cheetah.safe_csv import SafeWriter


def leaderboard_document(table: dict) -> dict:
    """A JSON-ready leaderboard: its rule, columns and one entry per team in rank order."""
    board = table["leaderboard"]
    columns = table["columns"]
    entries = []
    for row in table["rows"]:
        entries.append({
            "rank": row["rank"],
            "score": row["score"],
            "team": row["team"],
            "members": row["members"],
            "submission": row["submission"],
            "submitted_at": row["submitted_at"],
            "metrics": {c["id"]: cell.get("value") for c, cell in zip(columns, row["cells"],
                                                                       strict=True)},
            "intervals": {c["id"]: cell.get("ci") for c, cell in zip(columns, row["cells"],
                                                                      strict=True)},
            "small": [c["id"] for c, cell in zip(columns, row["cells"], strict=True)
                      if cell.get("small")],
            "suppressed": [c["id"] for c, cell in zip(columns, row["cells"], strict=True)
                           if cell.get("suppressed")],
            "median_rank": row["median_rank"],
            "rank_interval": row["rank_interval"],
            "p_first": row["p_first"],
            "tied_with_above": row["tied_with_above"],
            "energy_kwh": (row["cost"] or {}).get("energy_kwh"),
            "co2e_kg": (row["cost"] or {}).get("co2e_kg"),
            "levelling": _entry_levelling(row.get("levelling")),
        })
    robustness = table["robustness"] or {}
    return {
        "challenge": board.phase.challenge.slug,
        "phase": board.phase.slug,
        "leaderboard": board.slug,
        "name": board.name,
        "ranking": board.ranking,
        "explanation": table["explanation"],
        "split": table["split"],
        "hidden": table["hidden"],
        "computed_at": table["computed_at"].isoformat() if table["computed_at"] else None,
        "analysis_pending": table["analysis_pending"],
        "columns": [
            {"id": c["id"], "header": c["header"], "ranked": c["ranked"],
             "higher_is_better": c["higher_is_better"]}
            for c in columns
        ],
        "entries": entries,
        "kendall_tau": robustness.get("kendall_tau"),
        "ties": _ties(table["significance"]),
        "ranking_withheld": table.get("ranking_withheld", ""),
        "levelling": _board_levelling(table.get("levelling")),
    }


def _entry_levelling(flags: dict | None) -> dict | None:
    """An entry's released levelling flags (``competitions.selectors.levelling.released_row``):
    whether it meets every floor, whether it levelled down, and per metric and attribute its
    shown groups, gap, worst group and the two flags, with the sentences the page shows. None
    when the board has neither a reference nor floors, or while the flags are withheld."""
    if not flags or flags.get("withheld"):
        return None
    kept = ("groups", "gap", "worst", "reference_groups", "reference_gap", "change",
            "levelled_down", "meets_floor")
    return {
        "meets_floors": flags["meets_floors"], "levelled_down": flags["levelled_down"],
        "metrics": {metric: {attribute: {key: comparison.get(key) for key in kept}
                             for attribute, comparison in by_attribute.items()}
                    for metric, by_attribute in flags["metrics"].items()},
        "explanations": flags["explanations"],
    }


def _board_levelling(summary: dict | None) -> dict | None:
    """The board's levelling settings as the page states them: the reference, the floors (a
    ceiling for a lower-is-better metric) and the margin."""
    if not summary:
        return None
    return {"reference": summary.get("reference") or None, "floors": summary["floors"],
            "ceilings": [f["metric"] for f in summary.get("floor_list", []) if f["ceiling"]],
            "margin": summary["margin"], "metrics": summary["metrics"],
            "attributes": summary["attributes"]}


def _ties(significance: dict | None) -> dict | None:
    """How ``tied_with_above`` was decided: the column, test, correction and level (None before
    the worker compared the entries)."""
    if not significance:
        return None
    return {key: significance.get(key) for key in
            ("column", "metric", "test", "alpha", "family", "resamples", "seed", "note")}


def leaderboard_csv(document: dict) -> str:
    """One row per entry: rank, team, the rule's score, each column with its 95% interval, the
    rank interval and whether the entry is statistically tied with the one above (1/0, empty
    where undefined or not computed)."""
    out = io.StringIO()
    writer = SafeWriter(out)
    ids = [c["id"] for c in document["columns"]]
    header = ["rank", "team", "members", "score"]
    for column_id in ids:
        header += [column_id, f"{column_id}_ci_low", f"{column_id}_ci_high"]
    header += ["rank_interval_low", "rank_interval_high", "p_first", "tied_with_above",
               "energy_kwh", "co2e_kg", "meets_floors", "levelled_down", "levelled_down_on",
               "submission", "submitted_at"]
    writer.writerow(header)
    for entry in document["entries"]:
        line = [entry["rank"], entry["team"], "; ".join(entry["members"]), _blank(entry["score"])]
        for column_id in ids:
            ci = entry["intervals"][column_id] or (None, None)
            line += [_blank(entry["metrics"][column_id]), _blank(ci[0]), _blank(ci[1])]
        interval = entry["rank_interval"] or (None, None)
        tied = entry["tied_with_above"]
        line += [_blank(interval[0]), _blank(interval[1]), _blank(entry["p_first"]),
                 _blank(None if tied is None else int(tied)), _blank(entry["energy_kwh"]),
                 _blank(entry["co2e_kg"]), *_levelling_cells(entry["levelling"]),
                 entry["submission"], entry["submitted_at"]]
        writer.writerow(line)
    return out.getvalue()


def _levelling_cells(levelling: dict | None) -> list:
    """meets_floors and levelled_down as 1/0 (empty where undefined, without a reference or
    floors, or withheld), and the metrics and attributes it levelled down on ("sensitivity by
    sex; ...")."""
    if not levelling:
        return ["", "", ""]
    on = [f"{metric} by {attribute}" for metric, by in levelling["metrics"].items()
          for attribute, comparison in by.items() if comparison["levelled_down"]]
    return [_flag(levelling["meets_floors"]), _flag(levelling["levelled_down"]), "; ".join(on)]


def _flag(value: bool | None) -> object:
    return "" if value is None else int(value)


def _blank(value) -> object:
    """Undefined values as empty cells, which R, pandas and spreadsheets read as missing."""
    return "" if value is None else value
