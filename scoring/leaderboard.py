"""Multi-metric leaderboards with bootstrap rank robustness (issue 5), from per-case arrays.

:func:`compute_leaderboard` scores S entries on the leaderboard's columns (:mod:`scoring.columns`),
ranks them with one of the rules of :mod:`scoring.ranking`, and says how far the ranking can be
trusted: the cases are bootstrapped (seeded), every resample is re-ranked with the same rule, and
each entry gets its median rank, a 95% rank interval and the probability of ranking first; the
whole ranking gets the mean Kendall tau-b between the full ranking and the resampled ones. The
"what if" table names the winner under each column alone. Definitions: docs/ranking.md.

The web app, the CLI (``python -m scoring leaderboard``) and the label-bias stress test
(:mod:`scoring.label_bias`) call this one function on arrays already in memory; resamples are
case weights, so no file is read again and every metric is a matrix product or one sweep
(:mod:`scoring.weighted_stats`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scoring.columns import COLUMN_METRICS, Column, parse_column
from scoring.errors import InputError
from scoring.field import Field
from scoring.groups import build_grouping
from scoring.ranking import (
    FLOOR_THEN_PRIMARY,
    RULES,
    RankingResult,
    kendall_tau_b,
    rank_column,
    rank_columns,
    rank_entries,
)
from scoring.suppression import GroupSize, suppressed_groups
from scoring.weighted_stats import (
    PER_CASE_METRICS,
    FieldStats,
    PreparedField,
    per_case_loss,
    resample_weights,
)

# Memory for one chunk of resamples (weights and per-resample sums); larger runs loop over chunks.
CHUNK_BYTES = 256 * 2**20
# Bytes per resample and entry·group for the sums a chunk holds (a generous count of blocks).
_BYTES_PER_CELL = 8 * 48
RANK_INTERVAL = (2.5, 97.5)


@dataclass(frozen=True)
class Entry:
    """One entry's row. ``metrics`` maps column ids to values (None: undefined, or the group is
    smaller than ``min_group_size``). ``score`` is the rule's value (None when undefined).
    ``median_rank``, ``rank_interval`` (2.5 and 97.5 percentiles) and ``p_first`` come from the
    bootstrap and are None without it."""

    name: str
    rank: int
    score: float | None
    metrics: dict[str, float | None]
    median_rank: float | None = None
    rank_interval: tuple[int, int] | None = None
    p_first: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rank": self.rank,
            "score": self.score,
            "metrics": self.metrics,
            "median_rank": self.median_rank,
            "rank_interval": None if self.rank_interval is None else list(self.rank_interval),
            "p_first": self.p_first,
        }


@dataclass(frozen=True)
class LeaderboardResult:
    """A ranked leaderboard and its robustness.

    ``entries`` are in rank order (entries sharing a rank keep the input order). ``names`` is the
    input order, the column order of ``rank_samples`` (B x S ints, the rank of every entry on every
    resample, for the blob plot; 0 x S without bootstrap). ``columns`` are the organiser's columns
    (ranked or not), ``ranked`` those the rule uses; ``column_rank_correlation`` is the Kendall
    tau-b between the rankings by each pair of ``columns`` on the full data (NaN where undefined).
    ``what_if`` names the entries ranked first by each column alone.
    """

    ranking: str
    entries: list[Entry]
    kendall_tau: float | None
    what_if: dict[str, list[str]]
    rank_samples: np.ndarray
    column_rank_correlation: np.ndarray
    columns: list[str]
    ranked: list[str]
    names: list[str]
    bootstrap: int
    seed: int
    n_cases: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``python -m scoring leaderboard --format json``."""
        correlation = [[_number(value) for value in row] for row in self.column_rank_correlation]
        return {
            "ranking": self.ranking,
            "entries": [entry.to_dict() for entry in self.entries],
            "kendall_tau": self.kendall_tau,
            "what_if": self.what_if,
            "columns": self.columns,
            "ranked_columns": self.ranked,
            "column_rank_correlation": correlation,
            "bootstrap": self.bootstrap,
            "seed": self.seed,
            "n_cases": self.n_cases,
        }


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


@dataclass
class Board:
    """A validated leaderboard configuration over a :class:`PreparedField`: which columns, which
    of them the rule ranks, and how each column reads the per-group metric arrays."""

    names: list[str]
    field: PreparedField
    columns: list[Column]  # the organiser's columns, then shown-only columns
    n_board: int  # how many of ``columns`` are the organiser's (ranked or not)
    ranked: list[int]  # indices into ``columns`` the rule ranks
    rule: str
    group_index: dict[Column, list[int]]  # groups a column reads (several for worst)
    meets: np.ndarray | None = None  # floor_then_primary: whether each entry meets every floor
    _case_ranks: np.ndarray | None = field(default=None, repr=False)

    @property
    def directions(self) -> np.ndarray:
        return np.array([c.higher_is_better for c in self.columns])

    def values(self, weights: np.ndarray) -> np.ndarray:
        """Every column for every entry under each weights row: (B, S, C), NaN when undefined."""
        stats = FieldStats(self.field, weights)
        metrics: dict[str, np.ndarray] = {}
        out = np.empty((weights.shape[0], len(self.names), len(self.columns)))
        for j, column in enumerate(self.columns):
            if column.metric not in metrics:
                metric = COLUMN_METRICS[column.metric]
                with np.errstate(invalid="ignore", divide="ignore"):
                    metrics[column.metric] = np.asarray(metric.compute(stats), dtype=float)
            groups = self.group_index[column]
            per_group = metrics[column.metric][..., groups]
            if not groups:
                out[..., j] = np.nan
            elif not column.worst:
                out[..., j] = per_group[..., 0]
            else:
                out[..., j] = _worst(per_group, column.higher_is_better)
        return out

    def rank(self, values: np.ndarray, weights: np.ndarray) -> list[RankingResult]:
        """The rule's ranking under each weights row, from that row's column values (S x C)."""
        if self.rule == "rank_then_aggregate":
            return self._rank_then_aggregate(weights)
        ranked = values[..., self.ranked]
        directions = self.directions[self.ranked]
        return [rank_entries(self.rule, ranked[b], directions, meets=self.meets)
                for b in range(len(ranked))]

    def per_case(self, j: int) -> bool:
        """Whether column ``j`` has a value per case: a per-case metric (``PER_CASE_METRICS``)
        on all cases or one group, not a worst group."""
        column = self.columns[j]
        return column.metric in PER_CASE_METRICS and not column.worst

    def case_values(self, j: int) -> np.ndarray:
        """Column ``j``'s per-case values, S x the column's cases (none for a group below the
        minimum size); their mean is the column's value. Only for :meth:`per_case` columns."""
        column = self.columns[j]
        losses = per_case_loss(column.metric, self.field.labels, self.field.scores)
        return losses[:, self._cases_of(column)]

    def _cases_of(self, column: Column) -> np.ndarray:
        groups = self.group_index[column]
        if not groups:
            return np.zeros(self.field.n_cases, dtype=bool)
        return self.field.membership()[:, groups[0]] > 0

    def _rank_then_aggregate(self, weights: np.ndarray) -> list[RankingResult]:
        """challengeR's rank-then-aggregate under case weights: the per-case ranks do not change
        with the resample, so each resample's mean rank is one matrix product."""
        column = self.columns[self.ranked[0]]
        in_group = self._cases_of(column)
        if self._case_ranks is None:
            self._case_ranks = rank_columns(self.case_values(self.ranked[0]),
                                            column.higher_is_better)
        kept = weights[:, in_group].astype(np.float64)
        totals = kept.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_ranks = (kept @ self._case_ranks.T) / totals[:, np.newaxis]
        results = []
        for score in mean_ranks:
            rank = rank_column(score, higher_is_better=False)
            results.append(RankingResult(score=score, rank=rank,
                                         order=np.argsort(rank, kind="stable")))
        return results


def _worst(per_group: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """The worst defined value over the last axis; NaN only when no group has a value."""
    fill = np.inf if higher_is_better else -np.inf
    filled = np.where(np.isnan(per_group), fill, per_group)
    worst = filled.min(axis=-1) if higher_is_better else filled.max(axis=-1)
    return np.where(np.isinf(worst), np.nan, worst)


def build_board(field: Field) -> Board:
    """Check every input and option of the field and prepare it for ranking; raises
    :class:`InputError` listing what an organiser must change."""
    names = [str(name) for name in field.names]
    labels = np.asarray(field.labels)
    scores = np.asarray(field.scores, dtype=float)
    attributes, cases, decisions = field.attributes, field.cases, field.decisions
    ranking, threshold, min_group_size = field.ranking, field.threshold, field.min_group_size
    columns, primary, worst_group_on = field.columns, field.primary, field.worst_group_on
    problems = _check_arrays(names, labels, scores, attributes, cases, decisions)
    if ranking not in RULES:
        problems.append(f"unknown ranking rule {ranking!r}; choose one of {', '.join(RULES)}")
    if not 0 < threshold < 1:
        problems.append(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    problems += field.costs.problems()
    if min_group_size < 1:
        problems.append(f"min_group_size must be at least 1, got {min_group_size}")
    if field.meets is not None and len(field.meets) != len(names):
        problems.append(f"meets has {len(field.meets)} entries for {len(names)} entries")
    if not columns:
        problems.append("give at least one leaderboard column")
    if problems:
        raise InputError(problems)

    mask = field.selected()
    available = list(attributes)
    board_columns = _parse_all(columns, available)
    ids = [c.id for c in board_columns]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputError(f"columns listed twice: {', '.join(duplicates)}")
    primary_index = _primary_index(board_columns, primary)
    if ranking == "worst_group":
        if worst_group_on is None:
            raise InputError("the worst_group rule needs the attribute whose groups it compares "
                             "(worst_group_on, --worst-group-on)")
        metric = board_columns[primary_index].metric
        worst = parse_column(f"{metric}@worst({worst_group_on})", available)
        if worst not in board_columns:
            board_columns.append(worst)
        primary_index = board_columns.index(worst)
    elif worst_group_on is not None and worst_group_on not in available:
        raise InputError(f"unknown attribute {worst_group_on!r} for worst_group_on; the ground "
                         f"truth has {', '.join(available) or 'no attribute columns'}")
    shown_columns = [c for c in _parse_all(field.shown, available) if c not in board_columns]
    ranked = _ranked(ranking, board_columns, primary_index)
    all_columns = board_columns + shown_columns

    selected = list(dict.fromkeys(c.attribute for c in all_columns if c.attribute is not None))
    kept_attributes = {name: np.asarray(attributes[name])[mask] for name in selected}
    grouping = build_grouping(int(mask.sum()), kept_attributes, selected, ())
    scores = scores[:, mask]
    own = (scores >= threshold) if decisions is None else np.asarray(decisions)[:, mask]
    board_field = PreparedField(labels=labels[mask].astype(np.float64), scores=scores,
                                decisions=own.astype(np.float64), grouping=grouping,
                                threshold=threshold, costs=field.costs)
    sizes = board_field.membership().sum(axis=0)
    hidden = suppressed_groups([
        GroupSize(grouping.attribute[g], grouping.names[g], int(sizes[g]),
                  bool(sizes[g] < min_group_size))
        for g in range(1, grouping.n_groups)
    ])
    group_index = {c: _groups_of(c, grouping, sizes, min_group_size, hidden)
                   for c in all_columns}
    if ranking == "rank_then_aggregate" and not group_index[board_columns[ranked[0]]]:
        raise InputError(f"column {board_columns[ranked[0]].id!r}: the group has fewer than "
                         f"{min_group_size} cases, too few to rank on")
    return Board(
        names=names, field=board_field, columns=all_columns, n_board=len(board_columns),
        ranked=ranked, rule=ranking, group_index=group_index,
        meets=None if field.meets is None else np.asarray(field.meets, dtype=bool),
    )


def _parse_all(column_ids: Sequence[str], available: list[str]) -> list[Column]:
    """Parse every column id, reporting all bad ones at once."""
    columns, problems = [], []
    for column_id in column_ids:
        try:
            columns.append(parse_column(column_id, available))
        except InputError as error:
            problems += error.problems
    if problems:
        raise InputError(problems)
    return columns


def _check_arrays(names, labels, scores, attributes, cases, decisions) -> list[str]:
    problems = []
    if len(names) == 0:
        problems.append("a leaderboard needs at least one entry")
    if len(set(names)) != len(names):
        problems.append("entry names must be unique")
    if labels.ndim != 1 or labels.shape[0] == 0:
        problems.append("labels must be one value per case, and there must be cases")
        return problems
    n = labels.shape[0]
    if not np.isin(labels, (0, 1)).all():
        problems.append("leaderboards rank binary tasks: every label must be 0 or 1 (multiclass "
                        "and regression leaderboards are not available yet)")
    if scores.shape != (len(names), n):
        problems.append(f"scores must be one row per entry and one column per case "
                        f"({len(names)} x {n}), got {scores.shape}")
    elif not np.isfinite(scores).all():
        problems.append("every score must be a finite number")
    if decisions is not None and np.shape(decisions) != (len(names), n):
        problems.append(f"decisions must have the shape of the scores ({len(names)} x {n})")
    for name, values in attributes.items():
        if np.shape(values) != (n,):
            problems.append(f"attribute {name!r} must have one value per case ({n})")
    if cases is not None:
        mask = np.asarray(cases)
        if mask.shape != (n,) or mask.dtype != bool:
            problems.append(f"cases must be one true/false value per case ({n})")
        elif not mask.any():
            problems.append("the selected split holds no cases")
    return problems


def _primary_index(columns: list[Column], primary: str | None) -> int:
    if primary is None:
        return 0
    ids = [c.id for c in columns]
    if primary.strip() not in ids:
        raise InputError(f"the primary column {primary!r} is not one of the columns "
                         f"({', '.join(ids)})")
    return ids.index(primary.strip())


def _ranked(rule: str, columns: list[Column], primary_index: int) -> list[int]:
    if rule in ("primary", "worst_group", FLOOR_THEN_PRIMARY):
        return [primary_index]
    if rule != "rank_then_aggregate":
        return list(range(len(columns)))
    column = columns[primary_index]
    if column.metric not in PER_CASE_METRICS or column.worst:
        raise InputError(
            f"rank_then_aggregate needs a per-case metric on all cases or one group "
            f"({', '.join(PER_CASE_METRICS)}, e.g. brier or brier@sex=female), not {column.id!r}"
        )
    return [primary_index]


def _groups_of(column: Column, grouping, sizes: np.ndarray, min_group_size: int,
               hidden: set[tuple[str, str]]) -> list[int]:
    """Group indices a column reads. Groups below ``min_group_size`` cases are left out, so a
    column on such a group reads nothing and is undefined; a worst group also ignores the
    groups suppressed with them (``hidden``), as ``evaluate``'s fairness summaries do."""
    if column.attribute is None:
        return [0]
    in_attribute = [g for g, a in enumerate(grouping.attribute) if a == column.attribute]
    if column.worst:
        return [g for g in in_attribute if (column.attribute, grouping.names[g]) not in hidden]
    matches = [g for g in in_attribute if grouping.names[g] == column.group]
    if not matches:
        groups = ", ".join(grouping.names[g] for g in in_attribute)
        raise InputError(f"column {column.id!r}: attribute {column.attribute!r} has no group "
                         f"{column.group!r} among the ranked cases; its groups are {groups}")
    return matches if sizes[matches[0]] >= min_group_size else []


def compute_leaderboard(field: Field, *, bootstrap: int = 1000, seed: int = 0) -> LeaderboardResult:
    """Rank the field's S entries and measure how stable the ranking is.

    See :class:`scoring.field.Field` for the entries and the configuration. ``bootstrap``
    resamples the cases (0: no robustness), seeded by ``seed``: the same inputs always give the
    same result.
    """
    if bootstrap < 0:
        raise InputError(f"bootstrap must be 0 or a number of resamples, got {bootstrap}")
    board = build_board(field)
    n_cases = board.field.n_cases
    ones = np.ones((1, n_cases), dtype=np.float32)
    values = board.values(ones)
    full = board.rank(values, ones)[0]
    samples = bootstrap_ranks(board, bootstrap, seed)
    return _result(board, values[0], full, samples, bootstrap, seed)


def bootstrap_ranks(board: Board, bootstrap: int, seed: int) -> np.ndarray:
    """The rule's rank of every entry on each of ``bootstrap`` resamples (B x S ints), in chunks
    of resamples that keep memory near ``CHUNK_BYTES``."""
    n_entries, n_cases = len(board.names), board.field.n_cases
    per_resample = 4 * n_cases + _BYTES_PER_CELL * n_entries * board.field.n_groups
    chunk = max(1, CHUNK_BYTES // per_resample)
    samples = np.empty((bootstrap, n_entries), dtype=np.int64)
    for start in range(0, bootstrap, chunk):
        stop = min(start + chunk, bootstrap)
        weights = resample_weights(n_cases, range(start, stop), seed)
        values = board.values(weights) if board.rule != "rank_then_aggregate" else None
        for offset, result in enumerate(board.rank(values, weights)):
            samples[start + offset] = result.rank
    return samples


def _result(
    board: Board, values: np.ndarray, full: RankingResult, samples: np.ndarray, bootstrap: int,
    seed: int,
) -> LeaderboardResult:
    n_board = board.n_board
    board_ids = [c.id for c in board.columns[:n_board]]
    column_ranks = rank_columns(values[:, :n_board], board.directions[:n_board])
    robust = _robustness(full.rank, samples)
    entries = []
    for s in full.order:
        entries.append(Entry(
            name=board.names[s],
            rank=int(full.rank[s]),
            score=_number(full.score[s]),
            metrics={c.id: _number(values[s, j]) for j, c in enumerate(board.columns)},
            **{key: per_entry[s] for key, per_entry in robust.items() if key != "kendall_tau"},
        ))
    what_if = {
        column_id: [board.names[s] for s in np.flatnonzero(column_ranks[:, j] == 1)
                    if np.isfinite(values[s, j])]
        for j, column_id in enumerate(board_ids)
    }
    correlation = np.full((n_board, n_board), np.nan)
    for a in range(n_board):
        for b in range(n_board):
            tau = kendall_tau_b(column_ranks[:, a], column_ranks[:, b])
            correlation[a, b] = np.nan if tau is None else tau
    return LeaderboardResult(
        ranking=board.rule, entries=entries, kendall_tau=robust.get("kendall_tau"),
        what_if=what_if, rank_samples=samples, column_rank_correlation=correlation,
        columns=board_ids, ranked=[board.columns[j].id for j in board.ranked],
        names=board.names, bootstrap=bootstrap, seed=seed, n_cases=board.field.n_cases,
    )


def _robustness(full_rank: np.ndarray, samples: np.ndarray) -> dict[str, Any]:
    """Per-entry median rank, 95% rank interval and probability of ranking first (a shared first
    place counts for each), and the mean Kendall tau-b between the full and resampled rankings
    (resamples where it is undefined, e.g. all entries tied, are left out)."""
    n_entries = full_rank.shape[0]
    if samples.shape[0] == 0:
        return {"median_rank": [None] * n_entries, "rank_interval": [None] * n_entries,
                "p_first": [None] * n_entries, "kendall_tau": None}
    low, high = np.percentile(samples, RANK_INTERVAL, axis=0, method="inverted_cdf")
    taus = [kendall_tau_b(full_rank, sample) for sample in samples]
    defined = [tau for tau in taus if tau is not None]
    return {
        "median_rank": [float(m) for m in np.median(samples, axis=0)],
        "rank_interval": [(int(lo), int(hi)) for lo, hi in zip(low, high, strict=True)],
        "p_first": [float(p) for p in (samples == 1).mean(axis=0)],
        "kendall_tau": float(np.mean(defined)) if defined else None,
    }
