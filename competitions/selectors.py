"""Reads for pages (and, later, the API): the same numbers wherever they are shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Prefetch, QuerySet

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


def metric_value(result: dict | None, split: str, metric: str) -> float | None:
    """One overall metric value from a stored result; ``None`` when absent or undefined."""
    if not result or not result.get(split):
        return None
    entry = result[split].get("overall", {}).get(metric)
    return None if entry is None else entry.get("value")


def leaderboard_rows(phase: Phase, *, split: str = "public") -> list[LeaderboardRow]:
    """One row per team: its best scored submission on the phase's primary metric.

    Ties share the best rank ("1224"); a team whose primary value is undefined ranks last.
    The number of queries does not grow with the number of teams.
    """
    primary = phase.primary_metric
    higher = metric_higher_is_better(primary, phase.challenge.task)
    submissions = (
        Submission.objects.filter(phase=phase, status=Submission.Status.SCORED)
        .select_related("team")
        .prefetch_related(
            Prefetch(
                "team__members",
                queryset=Participant.objects.select_related("user").order_by("joined_at"),
            )
        )
        .only("id", "team", "created_at", "result", "team__name")
    )
    counts = dict(
        Submission.objects.filter(phase=phase, status=Submission.Status.SCORED)
        .values_list("team")
        .annotate(n=Count("id"))
        .values_list("team", "n")
    )
    best: dict[int, tuple[Submission, float | None]] = {}
    for submission in submissions:
        value = metric_value(submission.result, split, primary)
        current = best.get(submission.team_id)
        if current is None or _better(value, current[1], higher):
            best[submission.team_id] = (submission, value)

    def order_key(item: tuple[Submission, float | None]):
        submission, value = item
        if value is None:
            return (1, 0.0, submission.created_at)
        return (0, -value if higher else value, submission.created_at)

    ordered = sorted(best.values(), key=order_key)
    rows: list[LeaderboardRow] = []
    previous_value: object = object()
    rank = 0
    for position, (submission, value) in enumerate(ordered, start=1):
        if value != previous_value:
            rank = position
            previous_value = value
        rows.append(
            LeaderboardRow(
                rank=rank,
                team=submission.team.name,
                members=tuple(m.user.public_name for m in submission.team.members.all()),
                submission_id=submission.pk,
                submitted_at=submission.created_at,
                value=value,
                metrics={
                    m: metric_value(submission.result, split, m)
                    for m in (primary, *LEADERBOARD_EXTRA_METRICS)
                },
                n_submissions=counts.get(submission.team_id, 0),
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
    """Which splits the user may see: public always; private after the end or to organisers."""
    splits = ["public"]
    if phase.has_ended or is_organiser(user, phase.challenge):
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
    same female patients"); like label-based measures, only where ``show_label_measures``.
    """
    from competitions.similarity import heat_class, map_points

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
    }
