"""How the ranking moves (issue 15): the same entries ranked by other reasonable choices.

An organiser picks one ranking rule, a few ranked columns and (for per-case metrics such as the
Brier score) the mean over cases. :func:`sensitivity_panel` ranks the entries again under

* every other aggregating rule over the ranked columns (``mean_rank``, ``median_rank``,
  ``pareto``; with two or more ranked columns), and ``rank_then_aggregate`` on the first
  per-case ranked column when per-case values are given;
* every ranked column alone (what ``primary`` and ``worst_group`` do with that column: the
  "what if ranked by X" table);
* for each per-case ranked column, the official rule with that column's cases aggregated by
  the median instead of the mean (under ``rank_then_aggregate``: the median of the entries'
  per-case ranks, challengeR's ``rankThenAggregate(FUN=median)``),

and compares each with the official ranking: Kendall's τ-b between the two (``None`` where one
is constant) and the winners, the entries ranked first with a defined score. "1224" ranks and
undefined values last hold as in :mod:`scoring.ranking`, whose functions do all the ranking.
Definitions: docs/ranking.md, "Sensitivity panel".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scoring.field import Field
from scoring.leaderboard import Board, build_board
from scoring.ranking import (
    RankingResult,
    kendall_tau_b,
    primary,
    rank_column,
    rank_columns,
    rank_entries,
    rank_then_aggregate,
)

# The rules that combine several ranked columns; the others rank by one column.
AGGREGATING_RULES: tuple[str, ...] = ("mean_rank", "median_rank", "pareto")
VARIANT_KINDS: tuple[str, ...] = ("rule", "column", "median")


@dataclass(frozen=True, eq=False)
class Variant:
    """One alternative ranking of the entries (input order).

    ``kind`` is ``"rule"`` (``rule`` over the ranked columns, or over ``column``'s cases for
    ``rank_then_aggregate``), ``"column"`` (``column`` alone) or ``"median"`` (the official rule
    with ``column`` aggregated by the median over cases). ``rank`` is "1224" (1 is best);
    ``tau`` Kendall's τ-b against the official ranking (None: undefined); ``winners`` the
    indices of the entries ranked first with a defined score; ``winner_changed`` whether that
    set differs from the official winners.
    """

    kind: str
    rule: str
    column: str | None
    rank: np.ndarray
    tau: float | None
    winners: list[int]
    winner_changed: bool

    def to_dict(self, names: Sequence[str]) -> dict[str, Any]:
        return {
            "kind": self.kind, "rule": self.rule, "column": self.column,
            "ranks": {names[i]: int(r) for i, r in enumerate(self.rank)},
            "kendall_tau": self.tau, "winners": [names[i] for i in self.winners],
            "winner_changed": self.winner_changed,
        }


@dataclass(frozen=True, eq=False)
class SensitivityPanel:
    """The official ranking (``rule``, ``rank``, ``winners``) and its :class:`Variant` s."""

    rule: str
    rank: np.ndarray
    winners: list[int]
    variants: list[Variant]

    def to_dict(self, names: Sequence[str]) -> dict[str, Any]:
        """JSON: entries by name (``names`` in input order)."""
        return {
            "rule": self.rule,
            "ranks": {names[i]: int(r) for i, r in enumerate(self.rank)},
            "winners": [names[i] for i in self.winners],
            "variants": [variant.to_dict(names) for variant in self.variants],
        }


def sensitivity_panel(
    values: np.ndarray | Sequence[Sequence[float]],
    higher_is_better: Sequence[bool],
    columns: Sequence[str],
    *,
    rule: str,
    rank: np.ndarray | Sequence[int] | None = None,
    case_values: Mapping[str, np.ndarray] | None = None,
    meets: Sequence[bool] | None = None,
) -> SensitivityPanel:
    """Rank E entries under every variant and compare each with the official ranking.

    ``values`` is E entries x C ranked columns (NaN: undefined), ``higher_is_better`` one
    direction per column and ``columns`` their ids, in the board's order (the first is the
    column of ``primary``, ``worst_group`` and ``rank_then_aggregate``). ``rule`` is the
    official rule; ``rank`` the official ranking when the caller already has it (default: the
    rule applied to ``values``, or to the first column's per-case values for
    ``rank_then_aggregate``). ``case_values`` maps the id of a per-case ranked column to its
    E x N per-case values on the column's cases (e.g. each case's squared error for ``brier``);
    a column's mean over them is its entry in ``values``. Columns without per-case values get no
    median variant. ``meets``: whether each entry meets every floor, for ``floor_then_primary``
    (its variants keep the floors and change only the values).
    """
    matrix = np.asarray(values, dtype=float)
    directions = np.asarray(higher_is_better, dtype=bool).reshape(-1)
    columns = list(columns)
    if matrix.ndim != 2 or matrix.shape[1] != len(columns) or len(directions) != len(columns):
        raise ValueError(
            f"values {matrix.shape} need one column id and one direction per column "
            f"({len(columns)} ids, {len(directions)} directions)"
        )
    cases = {column: np.asarray(case_values[column], dtype=float)
             for column in columns if case_values and column in case_values}
    per_case = [j for j, column in enumerate(columns) if column in cases]
    if rank is None:
        official = _official(rule, matrix, directions, columns, cases, meets)
        official_rank, official_winners = official.rank, _winners(official)
    else:
        official_rank = np.asarray(rank, dtype=np.int64).reshape(-1)
        official_winners = [int(i) for i in np.flatnonzero(official_rank == 1)]

    variants: list[Variant] = []

    def add(kind: str, variant_rule: str, column: str | None, result: RankingResult) -> None:
        winners = _winners(result)
        variants.append(Variant(
            kind=kind, rule=variant_rule, column=column, rank=result.rank,
            tau=kendall_tau_b(result.rank, official_rank), winners=winners,
            winner_changed=set(winners) != set(official_winners),
        ))

    if len(columns) >= 2:
        for other in AGGREGATING_RULES:
            if other != rule:
                add("rule", other, None, rank_entries(other, matrix, directions))
    if per_case and rule != "rank_then_aggregate":
        j = per_case[0]
        add("rule", "rank_then_aggregate", columns[j],
            rank_then_aggregate(cases[columns[j]], bool(directions[j])))
    for j, column in enumerate(columns):
        add("column", "primary", column, primary(matrix, directions, j))
    for j in per_case:
        if rule != "rank_then_aggregate" or j == 0:  # that rule reads its first column only
            add("median", rule, columns[j], _median_variant(rule, matrix, directions, j,
                                                            cases[columns[j]], meets))
    return SensitivityPanel(rule=rule, rank=official_rank, winners=official_winners,
                            variants=variants)


def _official(rule: str, matrix: np.ndarray, directions: np.ndarray, columns: list[str],
              cases: dict[str, np.ndarray], meets: Sequence[bool] | None) -> RankingResult:
    if rule != "rank_then_aggregate":
        return rank_entries(rule, matrix, directions, meets=meets)
    if columns[0] not in cases:
        raise ValueError("rank_then_aggregate needs the first column's per-case values")
    return rank_then_aggregate(cases[columns[0]], bool(directions[0]))


def _median_variant(rule: str, matrix: np.ndarray, directions: np.ndarray, j: int,
                    per_case: np.ndarray, meets: Sequence[bool] | None) -> RankingResult:
    """The official rule with column ``j``'s cases aggregated by the median: of the per-case
    ranks under ``rank_then_aggregate``, of the per-case values otherwise. An entry whose mean
    is undefined (a group below the minimum size) stays undefined."""
    if rule == "rank_then_aggregate" and j == 0:
        ranks = rank_columns(per_case, bool(directions[0]))
        score = np.median(ranks, axis=1).astype(float)
        rank = rank_column(score, higher_is_better=False)
        return RankingResult(score=score, rank=rank, order=np.argsort(rank, kind="stable"))
    medians = (np.median(per_case, axis=1) if per_case.shape[1]
               else np.full(per_case.shape[0], np.nan))
    swapped = matrix.copy()
    swapped[:, j] = np.where(np.isnan(matrix[:, j]), np.nan, medians)
    return rank_entries(rule, swapped, directions, meets=meets)


def _winners(result: RankingResult) -> list[int]:
    return [int(i) for i in np.flatnonzero((result.rank == 1) & ~np.isnan(result.score))]


def field_case_values(field: Field) -> dict[str, np.ndarray]:
    """The per-case values of the field's per-case ranked columns (``brier``, ``log_loss``, on
    all cases or one group), S x the column's ranked cases, entries in the field's order."""
    return _case_values(build_board(field))


def field_sensitivity(field: Field) -> SensitivityPanel:
    """:func:`sensitivity_panel` of a field (:class:`scoring.field.Field`), the official ranking
    being its own rule's on all its ranked cases, as ``compute_leaderboard`` ranks it."""
    board = build_board(field)
    ones = np.ones((1, board.field.n_cases), dtype=np.float32)
    values = board.values(ones)
    official = board.rank(values, ones)[0]
    ranked = board.ranked
    return sensitivity_panel(
        values[0][:, ranked], board.directions[ranked], [board.columns[j].id for j in ranked],
        rule=board.rule, rank=official.rank, case_values=_case_values(board), meets=board.meets,
    )


def _case_values(board: Board) -> dict[str, np.ndarray]:
    return {board.columns[j].id: board.case_values(j) for j in board.ranked if board.per_case(j)}
