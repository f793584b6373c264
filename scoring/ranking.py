"""Ranking rules for multi-metric leaderboards (issue 5), as pure numpy functions.

A leaderboard ranks E entries on C ranked columns. The inputs are:

* ``values``: a float matrix, E entries x C columns; NaN means the value is undefined (``null`` in
  JSON), for example a sensitivity on a group without positives;
* ``higher_is_better``: one bool per column (the metric's direction from the registry), or one bool
  for every column.

Two conventions hold under every rule, because participants compare them across leaderboards:

* competition ranking "1224": entries with the same value share the best of their ranks and the
  next entry's rank counts all entries before it (as ``scipy.stats.rankdata(method="min")`` and
  challengeR's ``ties.method="min"``);
* an undefined value ranks after every defined one, and all undefined values share that rank. A
  rule never drops an entry: an entry without a value is still shown, last.

Each rule returns a per-entry ``score`` (the number the rule orders by, shown on the leaderboard)
and a ``rank`` ("1224" on that score). The rules follow grand-challenge's leaderboards ("mean
position" over the columns, or one primary column) and challengeR (Wiesenfarth et al., Sci Rep
2021: rank-then-aggregate over test cases); ``pareto`` is non-dominated sorting (Deb et al.,
NSGA-II, 2002) for organisers who do not want to weigh one metric against another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from scoring.errors import InputError
from scoring.vocabulary import FLOOR_THEN_PRIMARY, RULES

__all__ = ["FLOOR_THEN_PRIMARY", "RULES", "RULE_EXPLANATIONS", "RankingResult",
           "floor_then_primary", "kendall_tau_b", "rank_entries"]

# What each rule does, in a sentence. Ties and undefined values follow the same conventions
# under every rule (above), so the leaderboard states them once beside this, not in it.
RULE_EXPLANATIONS: dict[str, str] = {
    "primary": "Entries are ordered by their value in one chosen column, the better value"
    " first.",
    "mean_rank": "Entries are ranked on every ranked column separately and then ordered by the"
    " average of those ranks, so a lower average position is better.",
    "median_rank": "Entries are ranked on every ranked column separately and then ordered by the"
    " middle value of those ranks, so one bad column does not sink an entry.",
    "worst_group": "Entries are ordered by their value on the group where they perform worst, so"
    " a model is judged by the patients it serves least well.",
    "rank_then_aggregate": "Entries are ranked on every test case separately and then ordered by"
    " their average rank across cases, so a lower average position is better.",
    "pareto": "Entries that no other entry beats on every ranked column at once share first place;"
    " removing them, the next such group comes second, and so on.",
    FLOOR_THEN_PRIMARY: "Entries that meet every minimum rate set for the groups come first,"
    " ordered by one chosen column; the others follow in the same order.",
}


@dataclass(frozen=True)
class RankingResult:
    """One rule applied to E entries.

    ``score`` is the rule's value per entry (float; NaN only under ``primary``/``worst_group`` for
    an entry without a value). ``rank`` is the "1224" rank on the score (int, 1 is best).
    ``order`` lists entry indices best first; entries sharing a rank keep their input order.
    """

    score: np.ndarray
    rank: np.ndarray
    order: np.ndarray


def _as_matrix(values: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    matrix = np.asarray(values, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"values must be a matrix (entries x columns), got shape {matrix.shape}")
    if matrix.shape[1] == 0:
        raise ValueError("a ranking needs at least one ranked column")
    return matrix


def _directions(higher_is_better: bool | Sequence[bool] | np.ndarray, n_columns: int) -> np.ndarray:
    if isinstance(higher_is_better, bool | np.bool_):
        return np.full(n_columns, bool(higher_is_better))
    directions = np.asarray(higher_is_better, dtype=bool).reshape(-1)
    if directions.shape != (n_columns,):
        raise ValueError(
            f"higher_is_better has {directions.size} entries for {n_columns} ranked columns"
        )
    return directions


def _oriented(matrix: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """The values turned so that lower is better in every column; NaN stays NaN."""
    return np.where(directions[np.newaxis, :], -matrix, matrix)


def _competition_ranks(keys: np.ndarray) -> np.ndarray:
    """Competition ("1224") ranks of every column of ``keys`` (E x C, lower is better, NaN last).

    Sorting each column puts NaN at the end; a new rank starts wherever the sorted value differs
    from the one before (all NaNs count as one value), and the running maximum of the start
    positions carries a shared rank over its ties. Cost: one sort per column.
    """
    n_entries = keys.shape[0]
    order = np.argsort(keys, axis=0, kind="stable")
    ordered = np.take_along_axis(keys, order, axis=0)
    starts_new = np.ones(keys.shape, dtype=bool)
    same = (ordered[1:] == ordered[:-1]) | (np.isnan(ordered[1:]) & np.isnan(ordered[:-1]))
    starts_new[1:] = ~same
    positions = np.arange(1, n_entries + 1)[:, np.newaxis]
    ordered_ranks = np.maximum.accumulate(np.where(starts_new, positions, 0), axis=0)
    ranks = np.empty(keys.shape, dtype=np.int64)
    np.put_along_axis(ranks, order, ordered_ranks, axis=0)
    return ranks


def rank_columns(
    values: np.ndarray | Sequence[Sequence[float]],
    higher_is_better: bool | Sequence[bool] | np.ndarray,
) -> np.ndarray:
    """Competition ("1224") ranks of the entries on each column separately (E x C ints, 1 is best).

    Used by the aggregating rules and by the "what if ranked by X" table; NaN ranks last.
    """
    matrix = _as_matrix(values)
    return _competition_ranks(_oriented(matrix, _directions(higher_is_better, matrix.shape[1])))


def rank_column(values_1d: np.ndarray | Sequence[float], higher_is_better: bool) -> np.ndarray:
    """Competition ("1224") ranks of one column: ``[0.9, 0.8, 0.8, 0.7]`` (higher is better) gives
    ``[1, 2, 2, 4]``. NaN ranks after every defined value, all NaNs sharing that rank.
    """
    column = np.asarray(values_1d, dtype=float).reshape(-1, 1)
    return rank_columns(column, bool(higher_is_better))[:, 0]


def _result(score: np.ndarray, higher_is_better: bool) -> RankingResult:
    rank = rank_column(score, higher_is_better)
    return RankingResult(score=score, rank=rank, order=np.argsort(rank, kind="stable"))


def primary(
    values: np.ndarray | Sequence[Sequence[float]],
    higher_is_better: bool | Sequence[bool] | np.ndarray,
    column: int = 0,
) -> RankingResult:
    """Order by one column (grand-challenge's single-metric leaderboard); the score is its value."""
    matrix = _as_matrix(values)
    directions = _directions(higher_is_better, matrix.shape[1])
    return _result(matrix[:, column].copy(), bool(directions[column]))


def worst_group(
    values: np.ndarray | Sequence[Sequence[float]],
    higher_is_better: bool | Sequence[bool] | np.ndarray,
    column: int = 0,
) -> RankingResult:
    """Order by a ``metric@worst(attribute)`` column: each entry's value on its worst subgroup.

    The worst value is computed with the column (the scoring engine's population), so the rule
    itself is ``primary`` on that column; it is a rule of its own because the leaderboard explains
    it differently. An entry whose worst group is undefined (NaN) ranks last.
    """
    return primary(values, higher_is_better, column)


def floor_then_primary(
    values: np.ndarray | Sequence[Sequence[float]],
    higher_is_better: bool | Sequence[bool] | np.ndarray,
    meets: np.ndarray | Sequence[bool],
    column: int = 0,
) -> RankingResult:
    """Entries that meet every floor first, ordered by one column; then the others, same order.

    ``meets`` holds one bool per entry: whether it meets every floor of the phase (an entry
    whose floor check is undefined does not meet it). The score is the column's value, as under
    ``primary``; the rank is "1224" on the pair (meets every floor, value): two entries tie only
    when both meet (or both miss) and their values are equal, and an undefined value ranks last
    within its half.
    """
    matrix = _as_matrix(values)
    directions = _directions(higher_is_better, matrix.shape[1])
    flags = np.asarray(meets, dtype=bool).reshape(-1)
    if flags.shape != (matrix.shape[0],):
        raise ValueError(f"meets has {flags.size} entries for {matrix.shape[0]} entries")
    score = matrix[:, column].copy()
    within = rank_column(score, bool(directions[column]))
    # Within-half ranks are at most E, so (misses * (E + 1) + rank) orders by the pair and
    # keeps ties exactly; "1224" ranks on that key count every entry before.
    key = (~flags).astype(float) * (matrix.shape[0] + 1) + within
    rank = rank_column(key, higher_is_better=False)
    return RankingResult(score=score, rank=rank, order=np.argsort(rank, kind="stable"))


def _aggregate_ranks(ranks: np.ndarray, aggregate: Callable[..., np.ndarray]) -> RankingResult:
    # Integer ranks sum exactly, so equal sums (or equal middle ranks) give bit-equal scores and
    # ties between entries stay ties.
    return _result(aggregate(ranks, axis=1).astype(float), higher_is_better=False)


def mean_rank(
    values: np.ndarray | Sequence[Sequence[float]],
    higher_is_better: bool | Sequence[bool] | np.ndarray,
) -> RankingResult:
    """Rank on each column ("1224", NaN last), then order by the mean rank, lower first.

    This is grand-challenge's "mean position" ranking; the score is the mean rank.
    """
    return _aggregate_ranks(rank_columns(values, higher_is_better), np.mean)


def median_rank(
    values: np.ndarray | Sequence[Sequence[float]],
    higher_is_better: bool | Sequence[bool] | np.ndarray,
) -> RankingResult:
    """Like ``mean_rank`` with the median of the column ranks (grand-challenge's "median
    position"): one column where an entry ranks badly moves it less. An even number of columns
    gives half ranks as scores.
    """
    return _aggregate_ranks(rank_columns(values, higher_is_better), np.median)


def rank_then_aggregate(
    values: np.ndarray | Sequence[Sequence[float]],
    higher_is_better: bool | Sequence[bool] | np.ndarray,
) -> RankingResult:
    """challengeR's rank-then-aggregate (``rankThenAggregate(FUN=mean, ties.method="min")``).

    ``values`` holds one per-case metric, E entries x N cases (for example the Dice score of every
    entry on every test image); ``higher_is_better`` is the metric's direction (one bool, or one
    per case). Entries are ranked on every case, a missing case value ranking last on that case,
    and ordered by the mean of their ranks, lower first. Ranking per case keeps one case with
    extreme values from deciding the order, which averaging the metric first would allow.
    """
    return mean_rank(values, higher_is_better)


def pareto_layers(
    values: np.ndarray | Sequence[Sequence[float]],
    higher_is_better: bool | Sequence[bool] | np.ndarray,
) -> np.ndarray:
    """Non-dominated layer of each entry (int, 1 is the Pareto front).

    Entry a dominates b when a is at least as good on every ranked column and better on one.
    Layer 1 holds the entries no one dominates; layer k those dominated only by entries of layers
    below k (Deb et al., 2002). Identical entries never dominate each other, so they share a
    layer. An entry with NaN in any ranked column cannot be compared; it goes in one extra layer
    after all others.

    Peeled front by front, as NSGA-II's fast non-dominated sort does: the entries with no
    dominator left form the next layer and are taken away. The dominance relation is built in
    blocks of rows (cache-sized, the same comparisons as one E x E pass): O(E^2 * C) time and
    an E x E bool matrix, 100 MB at 10,000 entries, where the loop over entries it replaced
    took seconds.
    """
    matrix = _as_matrix(values)
    keys = _oriented(matrix, _directions(higher_is_better, matrix.shape[1]))
    n_entries = keys.shape[0]
    defined = ~np.isnan(keys).any(axis=1)
    layers = np.zeros(n_entries, dtype=np.int64)
    comparable = keys[defined]
    size = comparable.shape[0]
    dominates = np.empty((size, size), dtype=bool)  # dominates[i, j]: entry i dominates entry j
    block = max(1, 2**18 // max(size, 1))
    for start in range(0, size, block):
        rows = comparable[start:start + block]
        at_most = np.ones((rows.shape[0], size), dtype=bool)
        below = np.zeros_like(at_most)
        for column in range(comparable.shape[1]):
            mine, theirs = rows[:, column, np.newaxis], comparable[np.newaxis, :, column]
            at_most &= mine <= theirs
            below |= mine < theirs
        dominates[start:start + block] = at_most & below
    dominators = dominates.sum(axis=0)
    defined_layers = np.zeros(size, dtype=np.int64)
    left = np.ones(size, dtype=bool)
    layer = 0
    while left.any():
        layer += 1
        front = left & (dominators == 0)
        defined_layers[front] = layer
        left &= ~front
        dominators -= dominates[front].sum(axis=0)
    layers[defined] = defined_layers
    layers[~defined] = defined_layers.max(initial=0) + 1
    return layers


def pareto(
    values: np.ndarray | Sequence[Sequence[float]],
    higher_is_better: bool | Sequence[bool] | np.ndarray,
) -> RankingResult:
    """Order by non-dominated layer (see ``pareto_layers``); the score is the layer, and the rank
    is "1224" on it, so the second layer starts after all entries of the first.
    """
    return _result(pareto_layers(values, higher_is_better).astype(float), higher_is_better=False)


def rank_entries(
    rule: str,
    values: np.ndarray | Sequence[Sequence[float]],
    higher_is_better: bool | Sequence[bool] | np.ndarray,
    *,
    column: int = 0,
    meets: np.ndarray | Sequence[bool] | None = None,
) -> RankingResult:
    """Apply the rule named ``rule`` (one of ``RULES``); the one entry point for the CLI, the
    web and the bootstrap. ``column`` is the ranked column of ``primary``, ``worst_group`` and
    ``floor_then_primary``; ``meets`` (one bool per entry) is required by the last.
    """
    if rule == FLOOR_THEN_PRIMARY:
        if meets is None:
            raise InputError("The floor-then-primary rule needs, for every entry, whether it"
                             " meets every floor; the phase sets no floors.")
        return floor_then_primary(values, higher_is_better, meets, column)
    if rule in ("primary", "worst_group"):
        return primary(values, higher_is_better, column)
    aggregating = {
        "mean_rank": mean_rank,
        "median_rank": median_rank,
        "rank_then_aggregate": rank_then_aggregate,
        "pareto": pareto,
    }
    if rule not in aggregating:
        raise InputError(f"Unknown ranking rule {rule!r}; choose one of {', '.join(RULES)}.")
    return aggregating[rule](values, higher_is_better)


def kendall_tau_b(
    rank_a: np.ndarray | Sequence[float], rank_b: np.ndarray | Sequence[float]
) -> float | None:
    """Kendall's tau-b between two rankings of the same entries, or None when undefined.

    tau-b = (concordant - discordant) / sqrt((pairs - ties in a) * (pairs - ties in b))
    (Kendall 1945; the same statistic as ``scipy.stats.kendalltau(variant="b")``). It corrects
    for the ties that "1224" ranks produce. It is None when fewer than two entries are given or
    either ranking is constant (every pair tied), where the statistic has no value.

    Counted as Knight (1966) does, in O(E log E): sorted by (a, b), the discordant pairs are the
    inversions of b, and the ties come from run lengths. A leaderboard's robustness compares the
    full ranking with a hundred resampled ones, so at 10,000 teams the E x E sign matrices this
    replaced cost seconds per snapshot; the counts are exact integers, so the value is the same.
    """
    a = np.asarray(rank_a, dtype=float).reshape(-1)
    b = np.asarray(rank_b, dtype=float).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"rankings of different lengths: {a.size} and {b.size}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("rankings must be finite numbers")
    n = a.size
    pairs = n * (n - 1) // 2
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    untied_a = pairs - _tied_pairs(a)
    untied_b = pairs - _tied_pairs(np.sort(b))
    if untied_a == 0 or untied_b == 0:
        return None
    both = np.concatenate(([True], (a[1:] != a[:-1]) | (b[1:] != b[:-1]), [True]))
    joint = np.diff(np.flatnonzero(both)).astype(np.int64)
    tied_both = int((joint * (joint - 1) // 2).sum())
    tied_a = pairs - untied_a
    tied_b = pairs - untied_b
    discordant = _inversions(np.unique(b, return_inverse=True)[1].reshape(-1))
    score = pairs - tied_a - tied_b + tied_both - 2 * discordant
    # The same float operations as the sign-matrix form (whose counts were all doubled).
    return float(2 * score / np.sqrt(float(2 * untied_a) * float(2 * untied_b)))


def _tied_pairs(sorted_values: np.ndarray) -> int:
    """Pairs of equal values in a sorted array: the sum of t(t-1)/2 over its runs."""
    if sorted_values.size < 2:
        return 0
    edges = np.concatenate(([True], sorted_values[1:] != sorted_values[:-1], [True]))
    runs = np.diff(np.flatnonzero(edges)).astype(np.int64)
    return int((runs * (runs - 1) // 2).sum())


def _inversions(codes: np.ndarray) -> int:
    """Pairs i < j with codes[i] > codes[j], by a bottom-up merge sort in numpy.

    At each level the array is sorted within blocks of ``width``; for every element of a right
    block, one ``searchsorted`` over the whole array counts the larger elements of its left
    block (keys offset by block so that blocks never mix). log2(E) levels of O(E log E).
    """
    values = codes.astype(np.int64)
    n = values.size
    span = int(values.max()) + 1 if n else 1
    count = 0
    width = 1
    position = np.arange(n)
    while width < n:
        pair = position // (2 * width)
        right = (position // width) % 2 == 1
        keys = pair * span + values
        left_sorted = np.sort(keys[~right])
        probe = keys[right]
        block_end = np.searchsorted(left_sorted, pair[right] * span + span, side="left")
        not_larger = np.searchsorted(left_sorted, probe, side="right")
        count += int((block_end - not_larger).sum())
        values = np.sort(keys) - pair * span  # merge: sort within each pair of blocks
        width *= 2
    return count
