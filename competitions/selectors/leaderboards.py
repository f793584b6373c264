"""Reads for the leaderboard and entry pages, the API and the exports: the worker's snapshot of a
board, released (``competitions.release``) for the viewer. A bounded number of queries whatever
the number of teams."""

from __future__ import annotations

from django.db.models import Count, F
from django.utils.translation import gettext_lazy as _

from competitions.boards import leaderboard_columns, ranked_column_specs
from competitions.columns import group_cells, stored_split
from competitions.costs import submission_costs, submission_has_costs
from competitions.metrics import metric_notes, outside_interval
from competitions.models import (
    RANKING_SCORE_LABELS,
    Leaderboard,
    LeaderboardSnapshot,
    Participant,
    Submission,
    Team,
)
from competitions.presentation.charts import bar_chart
from competitions.release import (
    Viewer,
    release_cell,
    release_value,
    released_names,
    viewer_for,
)
from competitions.selectors.levelling import entry_levelling, released_row, released_summary
from scoring.columns import Column
from scoring.compare import DELONG, MCNEMAR, PAIRED_BOOTSTRAP, WILCOXON
from scoring.ranking import RULE_EXPLANATIONS
from scoring.result import SplitResult

# The numbers of a row that come from the ranking; released like every cell.
_ROW_NUMBERS = ("rank", "score", "median_rank", "rank_interval", "p_first", "tied_with_above")
# The metrics the design-time power is about, and the cases each is measured on.
POWERED_METRICS = {"sensitivity": "positives", "specificity": "negatives"}
# The numbers of a compared pair of entries; the names, the test and its reason are labels.
_PAIR_NUMBERS = ("difference", "ci", "p_value", "p_holm", "significant")
# The tests of scoring.compare as the pages name them (docs/ranking.md).
TEST_LABELS = {
    DELONG: _("DeLong's test for correlated ROC areas"),
    MCNEMAR: _("McNemar's exact test"),
    WILCOXON: _("Wilcoxon's signed-rank test on the per-case values"),
    PAIRED_BOOTSTRAP: _("a paired bootstrap test"),
}


def leaderboard_snapshot_stamp(board: Leaderboard, split: str) -> tuple | None:
    """The (id, computed_at, analysis state, analysed_at) of the board's snapshot on ``split``,
    None before the first: what a cached page is keyed by (``competitions.board_cache``), so a
    page drawn while the rank intervals and tie marks were being computed is not served once
    they are stored. One small query."""
    return (LeaderboardSnapshot.objects.filter(leaderboard=board, split=split)
            .values_list("pk", "computed_at", "analysis", "analysed_at").first())


def leaderboard_table(board: Leaderboard, *, split: str, user, attribute: str = "",
                      viewer: Viewer | None = None, shown: slice | None = None) -> dict:
    """A leaderboard as the page, the API and the exports show it, from the worker's snapshot.

    Every number passes ``release_cell``: participants and the public see no scores while the
    phase hides them, and no value of a small group (they see that the group is small) or of a
    group hidden with one. Where the board ranks on such a group, ranks, scores and rank
    intervals are withheld and the rows come in the order they were submitted.

    What the page says about its metrics comes with the table: ``decisions``, the shown metrics
    that depend on the phase's ``threshold``; ``biased``, those whose value can lie outside its
    interval (such cells carry ``outside_interval``); ``score_label``, what the rule's score
    is; ``rank_resamples``, how many resamples the rank intervals come from (None without);
    ``analysis_pending``, the intervals and tie marks are still being computed.
    ``viewer``: ``user``'s, when the caller has it already.

    ``shown``: the positions of the rows the caller draws (a page of them). Only those rows get
    their cells, members, counts and costs; the table then holds ``n_rows`` and, per team,
    ``team_rows`` — (position, submission, rank) of every row — for the page count and the
    "your team" line. At 10,000 teams releasing every row for a page of 200 took seconds. The
    order, the ranks, the names' numbering and the notes are those of the whole table.
    """
    phase = board.phase
    viewer = viewer or viewer_for(user, phase)
    listed = leaderboard_columns(board)
    columns = [
        {"id": column.column_id, "header": column.header, "ranked": column.ranked,
         "higher_is_better": spec.higher_is_better, "metric": spec.metric}
        for column, spec in listed if column.shown
    ]
    table = {
        "leaderboard": board, "split": split, "columns": columns, "rows": [],
        "hidden": not viewer.scores_visible, "computed_at": None,
        "explanation": RULE_EXPLANATIONS[board.ranking], "attribute": "", "groups": [],
        "attributes": list(phase.truth_attributes or []), "robustness": None, "summary": {},
        "has_costs": False, "power_notes": [], "significance": None, "ranking_withheld": "",
        "score_label": RANKING_SCORE_LABELS[board.ranking], "threshold": phase.threshold,
        "decisions": [], "biased": [], "rank_resamples": None, "levelling": None,
        "analysis_pending": False,
    }
    if table["hidden"]:
        return table
    notes = metric_notes([c["metric"] for c in columns], phase.challenge.task)
    table["decisions"] = notes["decisions"]
    if board.ranking != Leaderboard.Ranking.WORST_GROUP:
        table["power_notes"] = _power_notes(
            phase, split, [spec for column, spec in listed if column.ranked], viewer
        )
    snapshots = LeaderboardSnapshot.objects.filter(leaderboard=board, split=split)
    with_groups = attribute in table["attributes"] and bool(columns)
    snapshot = (snapshots if with_groups else snapshots.defer("groups")).first()
    if snapshot is None:
        return table
    table["computed_at"] = snapshot.computed_at
    # The rank intervals and tie marks are still being computed (field queue): the page says
    # so rather than showing the ranking as if it had none.
    table["analysis_pending"] = snapshot.analysis == LeaderboardSnapshot.Analysis.PENDING
    ranked_on_hidden = any(row.get("suppressed") for row in snapshot.rows)
    table["robustness"] = _released_robustness(snapshot.robustness, viewer, ranked_on_hidden)
    table["robustness_note"] = snapshot.robustness_note
    table["summary"] = _released_summary(snapshot.summary, viewer, ranked_on_hidden)
    table["significance"] = table["summary"].get("significance")
    table["levelling"] = released_summary((snapshot.summary or {}).get("levelling"), viewer)
    by_entry: dict = {}
    if with_groups:
        table["attribute"] = attribute
        by_entry = snapshot.groups.get(columns[0]["id"].split("@")[0], {})
        table["groups"] = sorted({
            key.split("=", 1)[1]
            for cells in by_entry.values() for key in cells
            if key.split("=", 1)[0] == attribute
        })
    team_ids = [row["team"] for row in snapshot.rows]
    teams = {pk: (name, anonymous) for pk, name, anonymous in
             Team.objects.filter(pk__in=team_ids).values_list("pk", "name", "anonymous")}
    rows = [row for row in snapshot.rows if row["team"] in teams]
    names = released_names(
        viewer, [teams[row["team"]][0] for row in rows], [row["team"] for row in rows],
        [teams[row["team"]][1] for row in rows],
    )
    # Every row's place, rank and name (cheap); the cells only for the rows drawn below.
    listed_rows = []
    for row, name in zip(rows, names, strict=True):
        numbers = release_cell(
            {**{key: row.get(key) for key in _ROW_NUMBERS},
             "suppressed": row.get("suppressed", False)},
            viewer=viewer,
        )
        numbers.pop("suppressed")
        listed_rows.append((row, {**numbers, "team_id": row["team"], "team": name,
                                  "submission": row["submission"],
                                  "submitted_at": row["submitted_at"]}))
    if any(listed["rank_interval"] for _row, listed in listed_rows):
        table["rank_resamples"] = (table["robustness"] or {}).get("resamples")
    withheld = [listed for _row, listed in listed_rows if listed["rank"] is None]
    if ranked_on_hidden and withheld:
        # The order itself is the ranking: show the entries in the order they were submitted.
        table["ranking_withheld"] = withheld[0]["reason"]
        listed_rows.sort(key=lambda pair: (pair[1]["submitted_at"], pair[1]["submission"]))
    drawn = listed_rows
    if shown is not None:
        drawn = listed_rows[shown]
        table["n_rows"] = len(listed_rows)
        table["team_rows"] = {}
        for index, (_row, listed) in enumerate(listed_rows):
            table["team_rows"].setdefault(listed["team_id"], []).append(
                (index, listed["submission"], listed["rank"]))
    drawn_teams = {listed["team_id"] for _row, listed in drawn}
    members: dict[int, list[str]] = {}
    for member in (Participant.objects.filter(team_id__in=drawn_teams)
                   .select_related("user").order_by("joined_at")):
        members.setdefault(member.team_id, []).append(member.user.public_name)
    costs = submission_costs(row["submission"] for row, _listed in drawn)
    table["has_costs"] = bool(costs) if shown is None else submission_has_costs(
        phase.pk, (row["submission"] for row in rows))
    counts = dict(
        Submission.objects.filter(phase=phase, team_id__in=drawn_teams,
                                  status=Submission.Status.SCORED)
        .values_list("team").annotate(n=Count("id")).values_list("team", "n")
    )
    for row, listed in drawn:
        team_id = listed["team_id"]
        entry_groups = by_entry.get(str(row["submission"]), {})
        cost = costs.get(row["submission"])
        table["rows"].append({
            **listed,
            "members": [] if listed["team"] != teams[team_id][0] else members.get(team_id, []),
            "cells": [release_cell(row["values"].get(c["id"], {}), viewer=viewer)
                      for c in columns],
            "group_cells": [release_cell(entry_groups.get(f"{attribute}={g}", {}),
                                         viewer=viewer) for g in table["groups"]],
            "n_submissions": counts.get(team_id, 0),
            "cost": None if cost is None else release_cell(cost, viewer=viewer),
            "levelling": released_row(row.get("levelling"), viewer, table["levelling"]),
        })
    _mark_outside_intervals(table, notes["biased"])
    table["biased"] = _biased_with_intervals(table, notes["biased"], rows, viewer)
    return table


def _mark_outside_intervals(table: dict, biased: list[str]) -> None:
    """Flag the drawn cells of biased metrics whose value lies outside its interval."""
    for row in table["rows"]:
        for column, cell in zip(table["columns"], row["cells"], strict=True):
            if column["metric"] in biased and cell.get("ci"):
                cell["outside_interval"] = outside_interval(cell)


def _biased_with_intervals(table: dict, biased: list[str], rows: list[dict],
                           viewer: Viewer) -> list[str]:
    """The biased metrics shown with an interval in some row of the whole table (the page's
    note names them, on every page alike). Read from the snapshot's rows without releasing
    them: a released cell keeps its interval exactly when the stored one has it and the cell
    is not withheld (a small group's or a suppressed one, which only organisers see)."""
    wanted = [column for column in table["columns"] if column["metric"] in biased]
    shown = set()
    for column in wanted:
        for row in rows:
            cell = row["values"].get(column["id"], {})
            if cell.get("ci") and (viewer.organiser or not (cell.get("small")
                                                             or cell.get("suppressed"))):
                shown.add(column["metric"])
                break
    return [metric for metric in biased if metric in shown]


def _power_notes(phase, split: str, ranked: list[Column], viewer) -> list[dict]:
    """The ranked sensitivity and specificity columns on one group whose cases in ``split``
    cannot detect the phase's power difference (``truth_report["power"]``, computed when the
    ground truth or the power settings were saved). The group's counts are about the ground
    truth: they pass the release step, which withholds a small group's (``have`` and
    ``detectable`` are then None; the note just says the group is too small)."""
    power = (phase.truth_report or {}).get("power") or {}
    analysis = (power.get("splits") or {}).get(split)
    if not analysis:
        return []
    groups = {(item["attribute"], group["group"]): group
              for item in analysis["attributes"] for group in item["groups"]}
    notes = []
    for spec in ranked:
        group = groups.get((spec.attribute, spec.group))
        if spec.metric not in POWERED_METRICS or spec.worst or group is None:
            continue
        measure = group[spec.metric]
        if measure["enough"]:
            continue
        released = release_cell(
            {"have": measure["have"], "detectable": measure["detectable_difference"],
             "small": group["n"] < phase.min_group_size},
            viewer=viewer,
        )
        notes.append({
            "column": spec.id, "metric": spec.metric,
            "population": f"{spec.attribute}={spec.group}",
            "cases": POWERED_METRICS[spec.metric], "withheld": "reason" in released,
            "have": released["have"], "detectable": released["detectable"],
            "difference": power["difference"], "power": power["power"],
            "alpha": power["alpha"],
        })
    return notes


def team_standing(board: Leaderboard, team: Team, user, *, split: str = "public"
                  ) -> tuple[int, int | None] | None:
    """(the submission ``board`` counts for ``team``, its rank as ``user`` may see it) from the
    board's snapshot, or None when the team is not on it or scores are hidden: one snapshot
    row, not the whole table."""
    viewer = viewer_for(user, board.phase)
    if not viewer.scores_visible:
        return None
    snapshot = (LeaderboardSnapshot.objects.filter(leaderboard=board, split=split)
                .defer("groups", "robustness", "summary").first())
    row = next((r for r in snapshot.rows if r["team"] == team.pk), None) if snapshot else None
    if row is None:
        return None
    released = release_cell({"rank": row.get("rank"), "suppressed": row.get("suppressed", False)},
                            viewer=viewer)
    return row["submission"], released["rank"]


def counts_team_picks(phase) -> bool:
    """Whether any leaderboard of the phase counts the submission a team picked: only then is
    picking one offered."""
    return phase.leaderboards.filter(counting=Leaderboard.Counting.CHOSEN).exists()


def _released_robustness(robustness: dict | None, viewer, suppressed: bool) -> dict | None:
    """The bootstrap summary (rank distributions, Kendall's tau) through the release step;
    ``suppressed`` when the board ranks on a withheld group."""
    if not robustness:
        return robustness
    entries = {
        name: release_cell({**entry, "suppressed": suppressed}, viewer=viewer)
        for name, entry in (robustness.get("entries") or {}).items()
    }
    tau = release_cell({"value": robustness.get("kendall_tau"), "suppressed": suppressed},
                       viewer=viewer)["value"]
    return {**robustness, "entries": entries, "kendall_tau": tau}


def _released_summary(summary: dict | None, viewer, ranked_on_hidden: bool = False) -> dict:
    """What-if winners, the columns' rank correlations, the sensitivity panel's ranks and
    Kendall's tau-b and the significance of the first ranked column through the release step:
    a column ranked on a withheld group has neither winners nor correlations, and when the
    board ranks on one (``ranked_on_hidden``) neither the panel nor the comparison is shown."""
    summary = dict(summary or {})
    # The raters' and the levelling sections have their own release paths
    # (competitions.selectors.raters, competitions.selectors.levelling).
    summary.pop("raters", None)
    summary.pop("levelling", None)
    hidden = set(summary.get("suppressed_columns") or [])
    released = [release_cell(item, viewer=viewer) for item in summary.get("what_if", [])]
    summary["what_if"] = [{**item, "winners": item["winners"] or []} for item in released]
    if "correlation" in summary:
        columns = summary.get("columns") or [""] * len(summary["correlation"])
        summary["correlation"] = [
            [release_cell({"value": tau, "suppressed": bool({first, second} & hidden)},
                          viewer=viewer)["value"]
             for second, tau in zip(columns, line, strict=True)]
            for first, line in zip(columns, summary["correlation"], strict=True)
        ]
    if ranked_on_hidden and not viewer.organiser:
        # Rankings on the withheld group would give it away, as its ranks would.
        summary.pop("panel", None)
        summary.pop("significance", None)
    if "panel" in summary:
        panel = summary["panel"]
        summary["panel"] = {
            **panel, **release_cell({"ranks": panel["ranks"]}, viewer=viewer),
            "variants": [
                {**variant, **release_cell({"ranks": variant["ranks"],
                                            "kendall_tau": variant["kendall_tau"]},
                                           viewer=viewer)}
                for variant in panel["variants"]
            ],
        }
    if "significance" in summary:
        summary["significance"] = _released_significance(summary["significance"], viewer)
    return summary


def _released_significance(stored: dict, viewer) -> dict:
    """The comparison of the entries on the first ranked column (competitions.worker.
    significance) with every pair's numbers through the release step, and how the page names
    its test and family."""
    def released(pairs: list[dict]) -> list[dict]:
        return [
            {**pair, **release_cell({key: pair.get(key) for key in _PAIR_NUMBERS},
                                    viewer=viewer)}
            for pair in pairs
        ]

    significance = {**stored, "pairs": released(stored.get("pairs", [])),
                    "adjacent": released(stored.get("adjacent", [])),
                    "test_label": TEST_LABELS.get(stored.get("test", ""), "")}
    if stored.get("podium"):
        places = {key: release_cell({"distribution": counts}, viewer=viewer)["distribution"]
                  for key, counts in stored["podium"]["places"].items()}
        significance["podium"] = {**stored["podium"], "places": places}
    return significance


def entry_view(board: Leaderboard, *, split: str, submission_id: int, user) -> dict | None:
    """One counting entry of a leaderboard: its first ranked metric per subgroup with intervals,
    the fairness gaps per attribute, and the leader's values beside it. ``None`` when the entry
    is not on the board the user sees (hidden scores, not a counting submission)."""
    table = leaderboard_table(board, split=split, user=user)
    row = next((r for r in table["rows"] if r["submission"] == submission_id), None)
    if table["hidden"] or row is None or not table["columns"]:
        return None
    viewer = viewer_for(user, board.phase)
    specs = ranked_column_specs(board)
    metric = specs[0].metric if specs else table["columns"][0]["id"].split("@")[0]
    # Where the ranking is withheld, so is who leads it.
    leader = None if table["ranking_withheld"] else table["rows"][0]
    results = dict(
        Submission.objects.filter(pk__in={submission_id, *([leader["submission"]] if leader
                                                           else [])})
        .annotate(split_result=F(f"result__{split}"))
        .values_list("pk", "split_result")
    )
    mine = stored_split(results.get(submission_id))
    best = stored_split(results.get(leader["submission"])) if leader else None
    leader_cells = group_cells(best, metric)
    overall = release_cell({**_metric_cell(mine, metric), "n": mine.n_cases if mine else None},
                           viewer=viewer)
    leader_overall = release_cell(_metric_cell(best, metric), viewer=viewer)
    groups = [{"label": "all cases", "n": overall.get("n"), "small": False, "suppressed": False,
               "value": overall.get("value"), "ci": overall.get("ci"),
               "leader": leader_overall.get("value")}]
    for key, cell in group_cells(mine, metric).items():
        shown = release_cell(cell, viewer=viewer)
        leader_value = release_cell(leader_cells.get(key, {}), viewer=viewer).get("value")
        groups.append({"label": key, "n": shown["n"], "small": cell["small"],
                       "suppressed": cell["suppressed"], "value": shown["value"],
                       "ci": shown["ci"], "leader": leader_value})
    notes = metric_notes([metric], board.phase.challenge.task)
    for item in groups:
        both = item["value"] is not None and item["leader"] is not None
        # A difference of released values, released again: no more digits than they have.
        item["gap"] = release_value(item["value"] - item["leader"], viewer=viewer) if both else None
        item["outside"] = bool(notes["biased"]) and outside_interval(item)
    stamp = leaderboard_snapshot_stamp(board, split)
    return {
        "levelling": entry_levelling(board.phase, stamp, row, table["levelling"], metric=metric,
                                     split=split, viewer=viewer) if stamp else None,
        "row": row, "leader": leader, "metric": metric, "groups": groups,
        "decisions": notes["decisions"],
        "biased": notes["biased"] if any(item["ci"] for item in groups) else [],
        "bars": bar_chart(groups),
        "fairness": [
            {"attribute": attribute, **release_cell(summary.to_dict(), viewer=viewer)}
            for attribute, summary in (mine.fairness.get(metric, {}) if mine else {}).items()
        ],
        "table": table,
    }


def _metric_cell(result: SplitResult | None, metric: str) -> dict:
    entry = result.metric(metric) if result else None
    return entry.to_dict() if entry else {"value": None, "ci": None}
