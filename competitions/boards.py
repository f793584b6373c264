"""A leaderboard's configuration as the ranking reads it: its columns, the columns its rule
ranks on, and whether a configuration can be ranked at all.

Read by the worker (ranking), the selectors (pages) and the admin (validation), so it lives
beside the models and imports neither.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError

from competitions.columns import Column, parse_column
from competitions.models import Leaderboard, LeaderboardColumn
from scoring.weighted_stats import PER_CASE_METRICS


def leaderboard_columns(board: Leaderboard) -> list[tuple[LeaderboardColumn, Column]]:
    """The board's columns, parsed (each was validated when the organiser saved it)."""
    task = board.phase.challenge.task
    return [(column, parse_column(column.column_id, task)) for column in board.columns.all()]


def ranked_column_specs(board: Leaderboard) -> list[Column]:
    """The columns the rule ranks on; for ``worst_group``, the first ranked metric on the worst
    group of ``worst_group_on``."""
    specs = [spec for column, spec in leaderboard_columns(board) if column.ranked]
    if board.ranking == Leaderboard.Ranking.WORST_GROUP and specs:
        first = specs[0]
        return [parse_column(f"{first.metric}@worst({board.worst_group_on})",
                             board.phase.challenge.task)]
    return specs


def leaderboard_validate(
    board: Leaderboard, column_ids: Iterable[str], ranked: Iterable[str]
) -> None:
    """Refuse a configuration the ranking cannot use, with every problem at once."""
    phase = board.phase
    attributes = phase.truth_attributes or None
    problems: list[str] = []
    for column_id in column_ids:
        try:
            parse_column(column_id, phase.challenge.task, attributes)
        except ValidationError as exc:
            problems += exc.messages
    ranked = list(ranked)
    if not ranked:
        problems.append("Mark at least one column as ranked.")
    if board.ranking in ("primary", "worst_group") and len(ranked) > 1:
        problems.append(f"The {board.ranking} rule ranks on one column; mark only one as ranked.")
    if board.ranking == "worst_group":
        if not board.worst_group_on:
            problems.append("Name the attribute whose worst group ranks.")
        elif attributes is not None and board.worst_group_on not in attributes:
            problems.append(f"The ground truth has no attribute “{board.worst_group_on}”.")
    if board.ranking == "rank_then_aggregate":
        specs = [parse_column(c, phase.challenge.task) for c in ranked] if not problems else []
        if phase.challenge.task != "binary":
            problems.append("Rank-then-aggregate is available for binary tasks only, so far.")
        elif len(specs) != 1 or specs[0].metric not in PER_CASE_METRICS or specs[0].worst:
            problems.append(
                "Rank-then-aggregate ranks one per-case metric ("
                + ", ".join(PER_CASE_METRICS)
                + ") on all cases or one group; mark exactly one such column as ranked."
            )
    if problems:
        raise ValidationError(problems)


