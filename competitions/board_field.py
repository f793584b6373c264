"""A leaderboard's field as the scoring core ranks it from per-case results: the stored arrays of
the counting submissions, the ground truth's labels and groups, and the board's rule.

Shared by the worker's rank intervals and the organisers' label-bias page, so both rank exactly
the same inputs. Holds labels: server side only, never for a participant.
"""

from __future__ import annotations

from competitions.case_results import phase_case_matrix
from competitions.models import Leaderboard, LeaderboardSnapshot
from competitions.splits import split_mask
from scoring.field import Field
from scoring.io import Truth


def board_field(
    board: Leaderboard, split: str, submission_ids: list[int], truth: Truth | None = None
) -> Field:
    """The field ``compute_leaderboard`` and ``label_bias_stress`` rank for this board.
    ``truth``: the phase's parsed ground truth, when the caller has it (read once per refresh)."""
    phase = board.phase
    matrix = phase_case_matrix(phase, submission_ids, truth=truth)
    truth = matrix.truth
    return Field(
        names=[str(pk) for pk in submission_ids],
        labels=truth.labels,
        scores=matrix.scores,
        attributes=truth.attributes,
        columns=[c.column_id for c in board.columns.all() if c.ranked],
        ranking=board.ranking,
        worst_group_on=board.worst_group_on or None,
        threshold=phase.threshold,
        costs=phase.error_costs,
        cases=split_mask(truth, split),
        min_group_size=phase.min_group_size,
        decisions=matrix.decisions,
        meets=_meets(board, split, submission_ids),
    )


def _meets(board: Leaderboard, split: str, submission_ids: list[int]) -> list[bool] | None:
    """Whether each entry meets every floor, as the board's snapshot checked it, for
    ``floor_then_primary`` (the floors are settings: every resample keeps them)."""
    if board.ranking != Leaderboard.Ranking.FLOOR_THEN_PRIMARY:
        return None
    rows = (LeaderboardSnapshot.objects.filter(leaderboard=board, split=split)
            .values_list("rows", flat=True).first()) or []
    meets = {row["submission"]: bool((row.get("levelling") or {}).get("meets_floors"))
             for row in rows}
    return [meets.get(pk, False) for pk in submission_ids]
