"""Reads for pages (and, later, the API): the same numbers wherever they are shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db.models import Count, F, Prefetch, QuerySet

from competitions.metrics import metric_higher_is_better
from competitions.models import (
    Challenge,
    Participant,
    Phase,
    SimilarityReport,
    Submission,
    Team,
)
from competitions.permissions import is_organiser
from scoring.similarity import FLAG_THRESHOLD

# Columns shown beside the primary metric on the skeleton leaderboard.
LEADERBOARD_EXTRA_METRICS = ("accuracy", "auroc", "sensitivity", "specificity")


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
    rank: int
    team: str
    members: tuple[str, ...]
    submission_id: int
    submitted_at: datetime
    value: float | None
    metrics: dict[str, float | None]
    n_submissions: int


def overall_value(overall: dict | None, metric: str) -> float | None:
    """One metric's value from a split's ``overall`` results; ``None`` if absent or undefined."""
    entry = (overall or {}).get(metric)
    return None if entry is None else entry.get("value")


def leaderboard_rows(phase: Phase, *, split: str = "public") -> list[LeaderboardRow]:
    """One row per team: its best scored submission on the phase's primary metric.

    Ties share the best rank ("1224"); a team whose primary value is undefined ranks last.
    Three queries whatever the number of teams, and only each result's ``overall`` part of the
    split is read: the rest (every subgroup with its intervals) is ~30 times larger.
    """
    if split not in ("public", "private"):
        raise ValueError(f"unknown split {split!r}")
    primary = phase.primary_metric
    higher = metric_higher_is_better(primary, phase.challenge.task)
    scored = Submission.objects.filter(phase=phase, status=Submission.Status.SCORED)
    entries = scored.annotate(overall=F(f"result__{split}__overall")).values_list(
        "id", "team_id", "created_at", "overall"
    )
    counts = dict(scored.values_list("team").annotate(n=Count("id")).values_list("team", "n"))
    best: dict[int, tuple[int, datetime, float | None, dict | None]] = {}
    for pk, team_id, created_at, overall in entries:
        value = overall_value(overall, primary)
        current = best.get(team_id)
        if current is None or _better(value, current[2], higher):
            best[team_id] = (pk, created_at, value, overall)
    teams = Team.objects.filter(pk__in=best).prefetch_related(
        Prefetch(
            "members",
            queryset=Participant.objects.select_related("user").order_by("joined_at"),
        )
    ).in_bulk()

    def order_key(item: tuple[int, tuple[int, datetime, float | None, dict | None]]):
        _team_id, (_pk, created_at, value, _overall) = item
        if value is None:
            return (1, 0.0, created_at)
        return (0, -value if higher else value, created_at)

    rows: list[LeaderboardRow] = []
    previous_value: object = object()
    rank = 0
    ordered = sorted(best.items(), key=order_key)
    for position, (team_id, (pk, created_at, value, overall)) in enumerate(ordered, start=1):
        if value != previous_value:
            rank = position
            previous_value = value
        team = teams[team_id]
        rows.append(
            LeaderboardRow(
                rank=rank,
                team=team.name,
                members=tuple(m.user.public_name for m in team.members.all()),
                submission_id=pk,
                submitted_at=created_at,
                value=value,
                metrics={
                    m: overall_value(overall, m) for m in (primary, *LEADERBOARD_EXTRA_METRICS)
                },
                n_submissions=counts.get(team_id, 0),
            )
        )
    return rows


def _better(value: float | None, incumbent: float | None, higher: bool) -> bool:
    if value is None:
        return False
    if incumbent is None:
        return True
    return value > incumbent if higher else value < incumbent


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


SIMILARITY_MEASURES = (
    "error_consistency", "agreement", "cohen_kappa", "q_statistic", "disagreement",
    "double_fault", "score_correlation",
)
LABEL_SIMILARITY_MEASURES = frozenset(
    {"error_consistency", "q_statistic", "disagreement", "double_fault"}
)


def similarity_view(
    phase: Phase, *, split: str, show_label_measures: bool, group: str = ""
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
    teams = [latest.entries[i]["team"] for i in order]
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
                        "team": latest.entries[i]["team"],
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
            "first": latest.entries[p["first"]]["team"],
            "second": latest.entries[p["second"]]["team"],
            "value": p["value"],
        }
        for p in latest.flagged
    ]
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
        "map": map_points(latest.positions, [e["team"] for e in latest.entries])
        if show_label_measures
        else [],
        # Reports from before the threshold was configurable used the default.
        "flag_threshold": FLAG_THRESHOLD
        if latest.flag_threshold is None
        else latest.flag_threshold,
        "ensembles": ensemble_rows(latest.ensembles, phase.primary_metric)
        if show_label_measures
        else [],
    }


def ensemble_rows(ensembles: dict, primary: str) -> list[dict]:
    """The stored ensembles of the field, each with its primary value, gain and worst group.

    ``metrics`` keeps the primary metric first, then the leaderboard's other columns.
    """
    names = (primary, *[m for m in LEADERBOARD_EXTRA_METRICS if m != primary])
    rows = []
    for ensemble in ensembles.get("ensembles", []):
        worst = ensemble.get("worst_group")
        rows.append(
            {
                "name": ensemble["name"],
                "members": ensemble["members"],
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
