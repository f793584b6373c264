"""The results page (what-if winners, column agreement, the sensitivity panel, the entries ×
subgroups heatmap, the bootstrap blob plot, the significance map of the entries with its table,
the podium, the several raters' section) and the organisers' label-bias stress test."""

from __future__ import annotations

from django.utils.translation import gettext as _

from competitions.board_field import board_field
from competitions.models import RANKING_LABELS, Leaderboard, LeaderboardSnapshot, Phase
from competitions.presentation.charts import (
    PODIUM_PLACES,
    SIGNIFICANCE_MAP_ENTRIES,
    blob_plot,
    heat_class,
    podium_plot,
    significance_map,
    tau_chart,
)
from competitions.release import release_cell, viewer_for
from competitions.selectors.leaderboards import leaderboard_table
from competitions.selectors.levelling import results_levelling
from competitions.selectors.raters import phase_raters
from scoring.errors import InputError
from scoring.label_bias import label_bias_stress


def results_view(board: Leaderboard, *, split: str, user, metric: str = "") -> dict:
    """The phase's results page for one board: what-if winners, how alike the columns rank, an
    entries x subgroups heatmap for one metric and (once computed) the bootstrap blob plot."""
    table = leaderboard_table(board, split=split, user=user)
    view: dict = {"table": table, "what_if": [], "correlation": None, "heatmap": None,
                  "metrics": [], "metric": "", "blobs": None, "panel": None,
                  "significance": None, "podium": None, "raters": None, "levelling": []}
    if table["hidden"] or not table["rows"]:
        return view
    viewer = viewer_for(user, board.phase)
    view["raters"] = phase_raters(board.phase, viewer, board=board, split=split)
    view["levelling"] = results_levelling(table)
    names = {row["team_id"]: row["team"] for row in table["rows"]}
    view["blobs"] = blob_plot(table)
    view["podium"] = _podium(table)
    view["significance"] = _significance(table)
    summary = table["summary"]
    view["what_if"] = [
        {"column": item["column"], "winners": [names.get(t, "?") for t in item["winners"]]}
        for item in summary.get("what_if", [])
    ]
    view["panel"] = _panel(summary.get("panel"), names)
    if len(summary.get("columns", [])) > 1:
        view["correlation"] = {
            "columns": summary["columns"],
            "rows": [
                {"column": column,
                 "cells": [{"value": tau, "css": heat_class(None if tau is None else (tau + 1) / 2)}
                           for tau in line]}
                for column, line in zip(summary["columns"], summary["correlation"], strict=True)
            ],
        }
    groups = (
        LeaderboardSnapshot.objects.filter(leaderboard=board, split=split)
        .values_list("groups", flat=True).first()
    ) or {}
    view["metrics"] = sorted(groups)
    view["metric"] = metric if metric in groups else (view["metrics"] or [""])[0]
    by_entry = groups.get(view["metric"], {})
    keys = sorted({key for cells in by_entry.values() for key in cells})
    if keys:
        view["heatmap"] = {
            "groups": keys,
            "rows": [
                {"team": row["team"], "rank": row["rank"],
                 "cells": [_heat_cell(release_cell(by_entry.get(str(row["submission"]), {})
                                                    .get(key, {}), viewer=viewer))
                           for key in keys]}
                for row in table["rows"]
            ],
        }
    return view


def _panel(panel: dict | None, names: dict[int, str]) -> dict | None:
    """The sensitivity panel (released by ``leaderboard_table``) with team names and a label
    per variant, and the geometry of its chart. None for a snapshot stored before the panel."""
    if not panel:
        return None

    def teams(ids: list[str]) -> list[str]:
        return [names.get(int(team), "?") for team in ids]

    rows = []
    for variant in panel["variants"]:
        rule = RANKING_LABELS.get(variant["rule"], variant["rule"])
        if variant["kind"] == "column":
            label = _("%(column)s alone") % {"column": variant["column"]}
        elif variant["kind"] == "median":
            label = _("%(rule)s, median of %(column)s over cases") % {
                "rule": rule, "column": variant["column"]}
        elif variant["column"]:
            label = _("%(rule)s on %(column)s") % {"rule": rule, "column": variant["column"]}
        else:
            label = rule
        rows.append({"label": label, "kind": variant["kind"], "tau": variant["kendall_tau"],
                     "winners": teams(variant["winners"]), "changed": variant["winner_changed"]})
    return {"rule": RANKING_LABELS.get(panel["rule"], panel["rule"]),
            "winners": teams(panel["winners"]), "rows": rows,
            "changes": sum(row["changed"] for row in rows), "chart": tau_chart(rows)}


def _significance(table: dict) -> dict | None:
    """The significance map of the board's first entries and its table of pairs (its text
    equivalent), from the released comparison; None until the worker compared the entries."""
    significance = table["significance"]
    if not significance:
        return None
    compared = set(significance.get("entries", []))
    rows = [row for row in table["rows"] if row["submission"] in compared]
    drawn = rows[:SIGNIFICANCE_MAP_ENTRIES]
    names = {row["submission"]: row["team"] for row in drawn}
    order = {row["submission"]: i for i, row in enumerate(drawn)}
    pairs = sorted(
        (pair | {"team_a": names[pair["a"]], "team_b": names[pair["b"]]}
         for pair in significance["pairs"] if pair["a"] in names and pair["b"] in names),
        key=lambda pair: sorted((order[pair["a"]], order[pair["b"]])),
    )
    plot = significance_map(drawn, pairs, alpha=significance["alpha"],
                            total=len(table["rows"]))
    return {**significance, "map": plot, "table": pairs}


def _podium(table: dict) -> dict | None:
    """The podium bars: per test case for a per-case metric (challengeR's podium), else over
    the bootstrap resamples of the ranking (the variant for metrics without per-case values)."""
    by_case = (table["significance"] or {}).get("podium")
    if by_case:
        distributions, basis = by_case["places"], "cases"
    else:
        entries = (table["robustness"] or {}).get("entries") or {}
        distributions = {key: entry.get("distribution") for key, entry in entries.items()}
        basis = "resamples"
    places = min(PODIUM_PLACES, len(table["rows"]))
    plot = podium_plot(table["rows"], {k: v for k, v in distributions.items() if v},
                       places=places)
    return None if plot is None else {**plot, "basis": basis,
                                      "cases": by_case["cases"] if by_case else None}


def _heat_cell(cell: dict) -> dict:
    value = cell.get("value")
    inside = value is not None and 0.0 <= value <= 1.0
    return {**cell, "css": heat_class(value if inside else None)}


def truth_populations(phase: Phase) -> list[str]:
    """``attribute=group`` for every group of the ground truth's own attributes."""
    report = phase.truth_report or {}
    own = set(phase.truth_attributes or [])
    return [
        f"{item['attribute']}={group['group']}"
        for item in report.get("attributes", []) if item["attribute"] in own
        for group in item["groups"]
    ]


def label_bias_view(
    board: Leaderboard, split: str, *, attribute: str, group: str, share: float, seed: int
) -> dict:
    """The label-bias stress test on the board's counting submissions, for organisers: each
    entry's ranked columns and rank with the ground truth as it is and with ``share`` of the
    group's positives recorded as negatives."""
    snapshot = (
        LeaderboardSnapshot.objects.filter(leaderboard=board, split=split).defer("groups").first()
    )
    ids = [row["submission"] for row in snapshot.rows] if snapshot else []
    if len(ids) < 1:
        raise InputError("The leaderboard has no entries yet.")
    return label_bias_stress(
        board_field(board, split, ids), attribute=attribute, group=group, share=share,
        seed=seed,
    )


def label_bias_rows(board: Leaderboard, split: str, *, attribute: str, group: str, share: float,
                    seed: int, names: dict[int, str]) -> dict:
    """The label-bias stress test with team names, entries in their rank under biased labels."""
    result = label_bias_view(board, split, attribute=attribute, group=group, share=share,
                             seed=seed)
    columns = list(result.entries[0].metrics_before) if result.entries else []
    return {
        "result": result,
        "columns": columns,
        "winners_before": [names.get(int(n), n) for n in result.winners_before],
        "winners_after": [names.get(int(n), n) for n in result.winners_after],
        "rows": [
            {"team": names.get(int(e.name), e.name), "rank_before": e.rank_before,
             "rank_after": e.rank_after, "moved": e.rank_before - e.rank_after,
             "cells": [{"before": e.metrics_before[c], "after": e.metrics_after[c],
                        "change": None if e.metrics_before[c] is None
                        or e.metrics_after[c] is None
                        else e.metrics_after[c] - e.metrics_before[c]} for c in columns]}
            for e in sorted(result.entries, key=lambda e: (e.rank_after, e.rank_before))
        ],
    }
