"""Reads for pages (and, later, the API): the same numbers wherever they are shown."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db.models import Count, F, Prefetch, QuerySet
from django.utils.translation import gettext as _

from competitions.columns import group_cells
from competitions.costs import submission_costs
from competitions.hooks import visible_leaderboards
from competitions.leaderboards import (
    ensure_default_leaderboard,
    leaderboard_columns,
    ranked_column_specs,
    ranked_rows,
)
from competitions.models import (
    Challenge,
    Leaderboard,
    LeaderboardSnapshot,
    Participant,
    Phase,
    SimilarityReport,
    Submission,
    Team,
)
from competitions.permissions import is_organiser
from scoring.ranking import RULE_EXPLANATIONS
from scoring.similarity import FLAG_THRESHOLD
from scoring.vocabulary import LABEL_SIMILARITY_MEASURES, SPLITS
from scoring.vocabulary import SIMILARITY_MEASURES as STORED_SIMILARITY_MEASURES


def challenges_visible_to(user) -> QuerySet[Challenge]:
    """Published public challenges, private ones the user joined, and any they organise."""
    published = Challenge.objects.filter(status=Challenge.Status.PUBLISHED)
    if not user.is_authenticated:
        return published.filter(access=Challenge.Access.PUBLIC)
    if user.is_superuser:
        return Challenge.objects.all()
    return (
        Challenge.objects.filter(
            pk__in=published.filter(access=Challenge.Access.PUBLIC).values("pk")
        )
        | Challenge.objects.filter(participants__user=user)
        | Challenge.objects.filter(organisers=user)
    ).distinct()


def team_submissions(team: Team) -> QuerySet[Submission]:
    return (
        Submission.objects.filter(team=team)
        .select_related("phase", "created_by")
        .prefetch_related("events")
        .order_by("-created_at")
    )


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int | None
    team: str
    submission_id: int


def leaderboard_rows(phase: Phase, *, split: str = "public") -> list[LeaderboardRow]:
    """The counting submission of every team on the phase's primary leaderboard, best first,
    computed now from the stored results (the worker's view; pages read the snapshot)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    rows = ranked_rows(ensure_default_leaderboard(phase), split)
    names = dict(Team.objects.filter(pk__in=[r["team"] for r in rows]).values_list("pk", "name"))
    return [LeaderboardRow(r["rank"], names[r["team"]], r["submission"]) for r in rows]


def phase_leaderboards_for(phase: Phase, user) -> list[Leaderboard]:
    """The phase's leaderboards this user sees: organisers all; others as a study's design arm
    (if any) decides."""
    boards = list(phase.leaderboards.all())
    if is_organiser(user, phase.challenge):
        return boards
    return visible_leaderboards(user, phase, boards)


def leaderboard_table(board: Leaderboard, *, split: str, user, attribute: str = "") -> dict:
    """A leaderboard as the page, the API and the exports show it, from the worker's snapshot.

    Participants and the public see no scores while the phase hides them, and no value of a
    small group (it can reveal individual labels: they see that the group is small). A bounded
    number of queries whatever the number of teams.
    """
    phase = board.phase
    organiser = is_organiser(user, phase.challenge)
    columns = [
        {"id": column.column_id, "header": column.header, "ranked": column.ranked,
         "higher_is_better": spec.higher_is_better}
        for column, spec in leaderboard_columns(board) if column.shown
    ]
    table = {
        "leaderboard": board, "split": split, "columns": columns, "rows": [],
        "hidden": phase.scores_hidden and not organiser, "computed_at": None,
        "explanation": RULE_EXPLANATIONS[board.ranking], "attribute": "", "groups": [],
        "attributes": list(phase.truth_attributes or []), "robustness": None, "summary": {},
        "has_costs": False,
    }
    if table["hidden"]:
        return table
    snapshots = LeaderboardSnapshot.objects.filter(leaderboard=board, split=split)
    with_groups = attribute in table["attributes"] and bool(columns)
    snapshot = (snapshots if with_groups else snapshots.defer("groups")).first()
    if snapshot is None:
        return table
    table["computed_at"] = snapshot.computed_at
    table["robustness"] = snapshot.robustness
    table["robustness_note"] = snapshot.robustness_note
    table["summary"] = snapshot.summary
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
    teams = Team.objects.filter(pk__in=team_ids).prefetch_related(
        Prefetch("members",
                 queryset=Participant.objects.select_related("user").order_by("joined_at"))
    ).in_bulk()
    costs = submission_costs(row["submission"] for row in snapshot.rows)
    table["has_costs"] = bool(costs)
    counts = dict(
        Submission.objects.filter(phase=phase, team_id__in=team_ids,
                                  status=Submission.Status.SCORED)
        .values_list("team").annotate(n=Count("id")).values_list("team", "n")
    )
    for row in snapshot.rows:
        team = teams.get(row["team"])
        if team is None:
            continue
        cells = [_visible(row["values"].get(c["id"], {}), organiser) for c in columns]
        entry_groups = by_entry.get(str(row["submission"]), {})
        group_cells = [
            _visible(entry_groups.get(f"{attribute}={g}", {}), organiser) for g in table["groups"]
        ]
        members = list(team.members.all())
        masked = team.anonymous and not organiser and all(m.user_id != user.pk for m in members)
        table["rows"].append({
            "rank": row["rank"], "score": row["score"], "team_id": team.pk,
            "team": _("Anonymous team") if masked else team.name,
            "members": [] if masked else [m.user.public_name for m in members],
            "submission": row["submission"], "submitted_at": row["submitted_at"],
            "cells": cells, "group_cells": group_cells, "n_submissions": counts.get(team.pk, 0),
            "median_rank": row.get("median_rank"), "rank_interval": row.get("rank_interval"),
            "p_first": row.get("p_first"), "cost": costs.get(row["submission"]),
        })
    return table


def _visible(cell: dict, organiser: bool) -> dict:
    if cell.get("small") and not organiser:
        return {"value": None, "ci": None, "n": None, "small": True, "group": cell.get("group"),
                "reason": "small group"}
    return cell


def leaderboard_splits(phase: Phase, user) -> list[str]:
    """Which splits the user may see: public always; private, where the ground truth has one,
    after the end or to organisers."""
    splits = ["public"]
    if phase.has_private_cases and (phase.has_ended or is_organiser(user, phase.challenge)):
        splits.append("private")
    return splits


def subgroup_rows(result: dict, *, show_small: bool) -> list[dict]:
    """Per-subgroup metrics of one split's result; small groups' values only for organisers.

    Values of small groups can reveal individual labels, so participants see only that such a
    group exists.
    """
    rows = []
    for group in result.get("groups", []):
        metrics = group.get("metrics", {})
        hidden = group.get("small") and not show_small
        rows.append(
            {
                "attribute": group["attribute"],
                "group": group["group"],
                "n": group["n"],
                "small": group.get("small", False),
                "hidden": hidden,
                "metrics": {} if hidden else metrics,
            }
        )
    return rows


# The heatmap leads with error consistency, the measure the page explains first.
SIMILARITY_MEASURES = (
    "error_consistency", *(m for m in STORED_SIMILARITY_MEASURES if m != "error_consistency"),
)


def similarity_view(
    phase: Phase, *, split: str, show_label_measures: bool, user, group: str = ""
) -> dict:
    """The latest similarity report of a split as heatmap rows, plus the diversity trend.

    ``group`` ("attribute=value") shows the similarity within one subgroup ("these two fail the
    same female patients"); like label-based measures and the ensembles of the field, only
    where ``show_label_measures`` (organisers, or everyone after the phase ends).
    """
    reports = SimilarityReport.objects.filter(phase=phase, split=split)
    latest = reports.first()
    if latest is None:
        return {"report": None}
    measures = [
        m for m in SIMILARITY_MEASURES
        if show_label_measures or m not in LABEL_SIMILARITY_MEASURES
    ]
    order = latest.order or list(range(len(latest.entries)))
    labels = entry_labels(
        phase, [e["submission"] for e in latest.entries], [e["team"] for e in latest.entries],
        user,
    )
    teams = [labels[i] for i in order]
    group_choices = [
        f"{g['attribute']}={g['group']}" for g in latest.report.get("groups", [])
    ] if show_label_measures else []
    source = latest.report["measures"]
    if group in group_choices:
        source = latest.report["groups"][group_choices.index(group)]["measures"]
    else:
        group = ""
    heatmaps = []
    for measure in measures:
        matrix = source[measure]
        heatmaps.append(
            {
                "measure": measure,
                "rows": [
                    {
                        "team": labels[i],
                        "cells": [
                            {"value": matrix[i][j], "css": heat_class(matrix[i][j])}
                            for j in order
                        ],
                    }
                    for i in order
                ],
            }
        )
    flagged = [
        {
            "first": labels[p["first"]],
            "second": labels[p["second"]],
            "value": p["value"],
        }
        for p in latest.flagged
    ]
    scores_visible = not phase.scores_hidden or is_organiser(user, phase.challenge)
    return {
        "report": latest,
        "teams": teams,
        "heatmaps": heatmaps,
        "hidden_measures": not show_label_measures,
        "flagged": flagged,
        "trend": list(
            reports.order_by("computed_at").values_list("computed_at", "mean_error_consistency")
        ),
        "show_mean_ec": show_label_measures,
        "group": group,
        "group_choices": group_choices,
        "map": map_points(latest.positions, labels)
        if show_label_measures
        else [],
        # Reports from before the threshold was configurable used the default.
        "flag_threshold": FLAG_THRESHOLD
        if latest.flag_threshold is None
        else latest.flag_threshold,
        # Ensembles show scores: also hidden while the phase hides scores from this user.
        "ensembles": ensemble_rows(
            latest.ensembles,
            phase.primary_metric,
            dict(zip((e["team"] for e in latest.entries), labels, strict=True)),
        )
        if show_label_measures and scores_visible
        else [],
    }


# Shown beside the primary metric for each ensemble of the field.
ENSEMBLE_EXTRA_METRICS = ("accuracy", "auroc", "sensitivity", "specificity")


def ensemble_rows(ensembles: dict, primary: str, labels: dict[str, str]) -> list[dict]:
    """The stored ensembles of the field, each with its primary value, gain and worst group.

    ``metrics`` keeps the primary metric first, then ``ENSEMBLE_EXTRA_METRICS``; members are
    shown by ``labels`` (team name -> what this user may see, see ``entry_labels``).
    """
    names = (primary, *[m for m in ENSEMBLE_EXTRA_METRICS if m != primary])
    rows = []
    for ensemble in ensembles.get("ensembles", []):
        worst = ensemble.get("worst_group")
        rows.append(
            {
                "name": ensemble["name"],
                "members": [labels.get(name, name) for name in ensemble["members"]],
                "metrics": [(m, ensemble["metrics"].get(m)) for m in names],
                "gain": ensemble["gain_over_best"].get(primary),
                "worst_group": None
                if worst is None
                else {
                    "label": f"{worst['attribute']}={worst['group']}",
                    "n": worst["n"],
                    "value": worst["metrics"].get(primary),
                },
            }
        )
    return rows


def heat_class(value: float | None) -> str:
    """A CSS class from ``heat-0`` (0 or below) to ``heat-10`` (1); ``heat-none`` if undefined."""
    if value is None:
        return "heat-none"
    return f"heat-{int(round(min(max(value, 0.0), 1.0) * 10))}"


def map_points(positions: list[list[float]], teams: list[str], *, size: int = 360) -> list[dict]:
    """Entry positions scaled into a ``size`` × ``size`` SVG box with a margin, for the map."""
    if not positions:
        return []
    xy = np.asarray(positions, dtype=float)
    # One scale for both axes, so distances on the map keep their proportions; centred.
    span = float(np.ptp(xy, axis=0).max()) or 1.0
    margin = 60
    centre = (xy.min(axis=0) + xy.max(axis=0)) / 2
    scaled = size / 2 + (xy - centre) / span * (size - 2 * margin)
    return [
        {
            "team": team,
            "x": round(float(x), 1),
            "y": round(float(y), 1),
            "label_x": round(float(x) + 9, 1),
            "hue": (37 * i) % 360,
        }
        for i, (team, (x, y)) in enumerate(zip(teams, scaled, strict=True))
    ]


def entry_view(board: Leaderboard, *, split: str, submission_id: int, user) -> dict | None:
    """One counting entry of a leaderboard: its first ranked metric per subgroup with intervals,
    the fairness gaps per attribute, and the leader's values beside it. ``None`` when the entry
    is not on the board the user sees (hidden scores, not a counting submission)."""
    table = leaderboard_table(board, split=split, user=user)
    row = next((r for r in table["rows"] if r["submission"] == submission_id), None)
    if table["hidden"] or row is None or not table["columns"]:
        return None
    organiser = is_organiser(user, board.phase.challenge)
    specs = ranked_column_specs(board)
    metric = specs[0].metric if specs else table["columns"][0]["id"].split("@")[0]
    leader = table["rows"][0]
    results = dict(
        Submission.objects.filter(pk__in={submission_id, leader["submission"]})
        .annotate(split_result=F(f"result__{split}"))
        .values_list("pk", "split_result")
    )
    mine, best = results.get(submission_id) or {}, results.get(leader["submission"]) or {}
    leader_cells = group_cells(best, metric)
    groups = []
    overall = (mine.get("overall") or {}).get(metric) or {}
    groups.append({"label": "all cases", "n": mine.get("n_cases"), "small": False,
                   "value": overall.get("value"), "ci": overall.get("ci"),
                   "leader": ((best.get("overall") or {}).get(metric) or {}).get("value")})
    for key, cell in group_cells(mine, metric).items():
        shown = _visible(cell, organiser)
        leader_value = _visible(leader_cells.get(key, {}), organiser).get("value")
        groups.append({"label": key, "n": shown["n"], "small": cell["small"],
                       "value": shown["value"], "ci": shown["ci"], "leader": leader_value})
    for item in groups:
        both = item["value"] is not None and item["leader"] is not None
        item["gap"] = item["value"] - item["leader"] if both else None
    return {
        "row": row, "leader": leader, "metric": metric, "groups": groups,
        "bars": bar_chart(groups),
        "fairness": [
            {"attribute": attribute, **summary}
            for attribute, summary in ((mine.get("fairness") or {}).get(metric) or {}).items()
        ],
        "table": table,
    }


def bar_chart(groups: list[dict], *, width: int = 420, row_height: int = 24) -> dict:
    """SVG geometry for a horizontal bar per group with its 95% interval as a whisker, and the
    leader's value as a tick. The scale spans 0 to 1 unless a value or bound falls outside."""
    numbers = [0.0, 1.0]
    for g in groups:
        numbers += [v for v in (g["value"], g["leader"]) if v is not None]
        numbers += list(g["ci"] or ())
    low, high = min(numbers), max(numbers)
    span = (high - low) or 1.0
    left = 190

    def x(value: float) -> float:
        return round(left + (value - low) / span * (width - left - 10), 1)

    bars = []
    for i, g in enumerate(groups):
        y = i * row_height + 4
        bar = {"label": g["label"], "y": y, "text_y": y + 14, "mid": y + 9, "value": g["value"]}
        if g["value"] is not None:
            bar |= {"x": x(min(0.0, g["value"])), "width": abs(x(g["value"]) - x(0.0))}
        if g["ci"]:
            bar |= {"ci_x1": x(g["ci"][0]), "ci_x2": x(g["ci"][1])}
        if g["leader"] is not None:
            bar["leader_x"] = x(g["leader"])
        bars.append(bar)
    return {"bars": bars, "width": width, "height": len(groups) * row_height + 8, "zero": x(0.0),
            "label_x": left - 6}


def user_submissions(user) -> QuerySet[Submission]:
    """Submissions of every team the user belongs to, for the API, newest first."""
    return (
        Submission.objects.filter(team__members__user=user)
        .select_related("phase__challenge", "team")
        .prefetch_related("events")
        .order_by("-created_at")
    )


def results_view(board: Leaderboard, *, split: str, user, metric: str = "") -> dict:
    """The phase's results page for one board: what-if winners, how alike the columns rank, an
    entries x subgroups heatmap for one metric and (once computed) the bootstrap blob plot."""
    table = leaderboard_table(board, split=split, user=user)
    view: dict = {"table": table, "what_if": [], "correlation": None, "heatmap": None,
                  "metrics": [], "metric": "", "blobs": None}
    if table["hidden"] or not table["rows"]:
        return view
    names = {row["team_id"]: row["team"] for row in table["rows"]}
    view["blobs"] = blob_plot(table)
    summary = table["summary"]
    view["what_if"] = [
        {"column": item["column"], "winners": [names.get(t, "?") for t in item["winners"]]}
        for item in summary.get("what_if", [])
    ]
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
        organiser = is_organiser(user, board.phase.challenge)
        view["heatmap"] = {
            "groups": keys,
            "rows": [
                {"team": row["team"], "rank": row["rank"],
                 "cells": [_heat_cell(_visible(by_entry.get(str(row["submission"]), {})
                                                .get(key, {}), organiser))
                           for key in keys]}
                for row in table["rows"]
            ],
        }
    return view


def _heat_cell(cell: dict) -> dict:
    value = cell.get("value")
    inside = value is not None and 0.0 <= value <= 1.0
    return {**cell, "css": heat_class(value if inside else None)}


def blob_plot(table: dict, *, width: int = 640, row_height: int = 26) -> dict | None:
    """SVG geometry of the bootstrap rank distributions (challengeR's blob plot): one row per
    entry in rank order, a circle per rank it took with area proportional to how often, the
    95% rank interval as a line and the median rank as a tick."""
    robustness = table.get("robustness") or {}
    entries = robustness.get("entries") or {}
    rows = [row for row in table["rows"] if str(row["submission"]) in entries]
    if not rows:
        return None
    n_ranks = max(len(table["rows"]), 2)
    left, right = 170, 20

    def x(rank: float) -> float:
        return round(left + (rank - 1) / (n_ranks - 1) * (width - left - right), 1)

    items = []
    for i, row in enumerate(rows):
        entry = entries[str(row["submission"])]
        mid = i * row_height + row_height / 2 + 14
        total = sum(entry["distribution"].values()) or 1
        blobs = [
            {"cx": x(int(rank)), "r": round(2 + 9 * (count / total) ** 0.5, 1),
             "share": count / total, "rank": int(rank)}
            for rank, count in sorted(entry["distribution"].items(), key=lambda kv: int(kv[0]))
        ]
        low, high = entry["rank_interval"]
        items.append({"team": row["team"], "y": mid, "text_y": mid + 4, "blobs": blobs,
                      "x1": x(low), "x2": x(high), "median_x": x(entry["median_rank"]),
                      "median": entry["median_rank"], "interval": (low, high),
                      "p_first": entry["p_first"], "rank": row["rank"]})
    ticks = [{"x": x(r), "label": r} for r in range(1, n_ranks + 1)
             if n_ranks <= 20 or r in (1, n_ranks) or r % 10 == 0]
    return {"items": items, "ticks": ticks, "width": width, "label_x": left - 8,
            "height": len(rows) * row_height + 34, "axis_y": len(rows) * row_height + 18}


def truth_populations(phase: Phase) -> list[str]:
    """``attribute=group`` for every group of the ground truth's own attributes."""
    report = phase.truth_report or {}
    own = set(phase.truth_attributes or [])
    return [
        f"{item['attribute']}={group['group']}"
        for item in report.get("attributes", []) if item["attribute"] in own
        for group in item["groups"]
    ]


def label_bias_rows(board: Leaderboard, split: str, *, attribute: str, group: str, share: float,
                    seed: int, names: dict[int, str]) -> dict:
    """The label-bias stress test with team names, entries in their rank under biased labels."""
    from competitions.robustness import label_bias_view

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


def stored_overall_values(submission_ids: list[int], split: str) -> dict[int, dict]:
    """``{id: {metric: value}}`` from each submission's stored result on ``split``, overall.

    One query that reads only that part of each result; an absent split gives ``{}``.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    stored = (
        Submission.objects.filter(pk__in=submission_ids)
        .annotate(overall=F(f"result__{split}__overall"))
        .values_list("pk", "overall")
    )
    return {
        pk: {name: entry.get("value") for name, entry in (overall or {}).items()}
        for pk, overall in stored
    }


def entry_labels(phase: Phase, submission_ids: list[int], names: list[str], user) -> list[str]:
    """Team names as ``user`` may see them: a team that chose to be anonymous is "Anonymous
    team (n)" to everyone but its members and the organisers (n numbers them in this list)."""
    if is_organiser(user, phase.challenge):
        return list(names)
    teams = dict(
        Submission.objects.filter(pk__in=submission_ids)
        .filter(team__anonymous=True)
        .values_list("pk", "team_id")
    )
    own = set()
    if user.is_authenticated:
        own = set(
            Participant.objects.filter(challenge=phase.challenge, user=user).values_list(
                "team_id", flat=True
            )
        )
    labels, masked = [], 0
    for pk, name in zip(submission_ids, names, strict=True):
        if pk in teams and teams[pk] not in own:
            masked += 1
            labels.append(_("Anonymous team (%(n)d)") % {"n": masked})
        else:
            labels.append(name)
    return labels
