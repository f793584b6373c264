"""Fairness summaries per metric and attribute, and parity measures per attribute.

Both use only the groups that are not suppressed (a 6-case group must not decide the worst
group, and the worst value must not name a group the release step withholds: see
``scoring.suppression``) and, for a metric, where it is defined; with fewer than two such groups
a summary is ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scoring import tallies
from scoring.result import FairnessSummary


def summary(
    values: np.ndarray, names: Sequence[str], higher_is_better: bool
) -> FairnessSummary:
    """difference (max − min), ratio (min / max, None if a value is ≤ 0), worst group and value.

    ``values`` holds the metric for the attribute's groups that are not suppressed, NaN where
    undefined.
    """
    defined = np.isfinite(values)
    if defined.sum() < 2:
        return FairnessSummary(
            reason="fewer than two groups that are not suppressed and where the metric is defined",
        )
    kept = values[defined]
    kept_names = [name for name, ok in zip(names, defined, strict=True) if ok]
    worst = int(np.argmin(kept) if higher_is_better else np.argmax(kept))
    low, high = float(kept.min()), float(kept.max())
    return FairnessSummary(
        difference=high - low,
        ratio=low / high if low > 0 else None,
        worst_group=kept_names[worst],
        worst_value=float(kept[worst]),
        reason=None if low > 0 else "ratio: a group's value is 0 or below",
    )


def spread(rates: np.ndarray) -> float | None:
    """max − min over the defined rates; None with fewer than two."""
    kept = rates[np.isfinite(rates)]
    return float(kept.max() - kept.min()) if len(kept) >= 2 else None


def parity(
    selection: np.ndarray, tpr: np.ndarray, fpr: np.ndarray
) -> dict[str, float | None]:
    """fairlearn's demographic parity and equalized odds differences over the given groups,
    except that a rate with an empty denominator (NaN) leaves its group out, where fairlearn
    would count it as 0."""
    true_positive, false_positive = spread(tpr), spread(fpr)
    odds = (
        None if true_positive is None or false_positive is None
        else max(true_positive, false_positive)
    )
    return {"demographic_parity_difference": spread(selection), "equalized_odds_difference": odds}


@dataclass(frozen=True)
class Ladder:
    """The distinct values of sorted scores and the prefix sums ``_wasserstein`` reads, built
    once for every partition of the same scores."""

    block: np.ndarray  # (n,) index of each sorted case's distinct value
    n_blocks: int
    p0: np.ndarray  # (n_blocks,) Σ of the gaps before each distinct value
    p1: np.ndarray  # (n_blocks,) Σ of gap × cases up to the value, before each
    at_most: np.ndarray  # (n + 1,) how many distinct values have at most m cases up to them


def ladder(sorted_values: np.ndarray) -> Ladder:
    n = sorted_values.shape[0]
    new = np.empty(n, dtype=bool)
    new[:1] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=new[1:])
    block = np.cumsum(new) - 1
    n_blocks = int(block[-1]) + 1 if n else 0
    gaps = np.diff(sorted_values[new])
    through = np.cumsum(np.bincount(block, minlength=n_blocks))[:-1]
    return Ladder(
        block=block, n_blocks=n_blocks,
        p0=np.concatenate(([0.0], np.cumsum(gaps))),
        p1=np.concatenate(([0.0], np.cumsum(gaps * through))),
        at_most=np.cumsum(np.bincount(through, minlength=n + 1)),
    )


def _wasserstein(
    sorted_values: np.ndarray, sorted_group: np.ndarray, n_groups: int, sizes: np.ndarray,
    steps: Ladder | None = None,
) -> np.ndarray:
    """∫ |F_group − F_rest| for each group 0 … n_groups − 1, over values sorted ascending
    (cases of other group numbers, such as −1, count in "the rest" only).

    With distinct values v_0 < v_1 < … and T_b the number of cases up to v_b, the integral is
    Σ_b (v_{b+1} − v_b) |f(b)|, f(b) = seen(b) (1/n_g + 1/rest_g) − T_b / rest_g, where
    seen(b) (the group's cases up to v_b) changes only at the values the group holds. Over a
    run of b where it stays k, f falls as T_b grows and changes sign once, where T_b passes
    k (rest_g / n_g + 1) = k n / n_g; so each run is two differences of prefix sums of the
    gaps and of gap × T. A few passes over the cases, whatever the number of groups.
    """
    n = sorted_values.shape[0]
    distance = np.zeros(n_groups)
    if n < 2:
        return distance
    steps = ladder(sorted_values) if steps is None else steps
    block, n_blocks, p0, p1 = steps.block, steps.n_blocks, steps.p0, steps.p1
    if n_blocks < 2:
        return distance

    member = (sorted_group >= 0) & (sorted_group < n_groups)
    group = sorted_group[member].astype(np.int16 if n_groups < 2**15 else np.int64)
    by_group = np.argsort(group, kind="stable")  # values stay ascending within a group
    group, block = group[by_group], block[member][by_group]
    if group.size == 0:
        return distance
    start = np.empty(group.size, dtype=bool)
    start[0] = True
    np.not_equal(group[1:], group[:-1], out=start[1:])
    start[1:] |= block[1:] != block[:-1]
    run_group, run_start = group[start].astype(np.int64), block[start]
    count = np.bincount(np.cumsum(start) - 1)
    first = np.empty(run_group.size, dtype=bool)
    first[0] = True
    np.not_equal(run_group[1:], run_group[:-1], out=first[1:])
    total = np.cumsum(count)
    level = (total - (total - count)[first][np.cumsum(first) - 1]).astype(np.float64)
    last = np.append(first[1:], True)
    run_end = np.append(run_start[1:], n_blocks - 1)
    run_end[last] = n_blocks - 1

    size = sizes[run_group]
    rest = n - size
    defined = (size > 0) & (rest > 0)
    size, rest = np.where(defined, size, 1.0), np.where(defined, rest, 1.0)
    slope = level * (1 / size + 1 / rest)
    # The first b with T_b past the crossing k · n / n_g: T counts cases, so a table of how
    # many T_b are at most m (m = 0 … n) answers for every run at once.
    crossing = np.minimum(np.floor(level * n / size), n).astype(np.int64)
    cross = np.clip(steps.at_most[crossing], run_start, run_end)
    runs = (slope * (p0[cross] - p0[run_start]) - (p1[cross] - p1[run_start]) / rest
            + (p1[run_end] - p1[cross]) / rest - slope * (p0[run_end] - p0[cross]))
    # Before a group's first value, seen is 0 and |f| = T_b / rest.
    leading = p1[run_start[first]] / rest[first]
    distance += np.bincount(run_group, weights=np.where(defined, runs, 0.0), minlength=n_groups)
    distance += np.bincount(run_group[first], weights=np.where(defined[first], leading, 0.0),
                            minlength=n_groups)
    return distance


def score_wasserstein(
    sorted_scores: np.ndarray, sorted_cell: np.ndarray, cell_group: np.ndarray,
    kept: Sequence[Sequence[int]], steps: Ladder | None = None,
) -> list[float | None]:
    """For each partition (column ``p`` of ``cell_group``, its groups ``kept[p]``): the largest
    1-D Wasserstein distance between one group's scores and all other cases' (as
    ``scipy.stats.wasserstein_distance``), over its kept groups; None with fewer than two.

    ``sorted_scores`` are the scores sorted ascending (the order of tied scores does not
    matter) and ``sorted_cell`` the cell of each; ``cell_group`` gives each cell's group index
    in each partition, so the scores are sorted once for every partition; ``steps`` may give
    ``ladder(sorted_scores)``, shared by the partitions. Cases of the left-out (small) groups
    belong to "all other cases" of every kept group.

    From ``NUMPY_CASES`` cases on, one compiled walk over the sorted cases serves every
    partition (``tally_kernels._wasserstein``, reading each case's cell): no per-partition
    array of n group numbers is built.
    """
    cell_group = np.asarray(cell_group, np.int64)
    n_cells, n_partitions = cell_group.shape
    cell_sizes = np.bincount(sorted_cell, minlength=n_cells).astype(np.float64)
    compiled = len(sorted_scores) >= tallies.NUMPY_CASES
    if compiled:
        from scoring.tally_kernels import _wasserstein as walk

        n_slots = int(cell_group.max(initial=-1)) + 2  # the last slot: groups left out
        slot = np.full((n_cells, n_partitions), n_slots - 1, np.int64)
        for p, groups in enumerate(kept):
            chosen = np.isin(cell_group[:, p], np.asarray(groups, np.int64))
            slot[chosen, p] = cell_group[chosen, p]
        sizes = np.zeros(n_slots)
        for p in range(n_partitions):
            sizes += np.bincount(slot[:, p], weights=cell_sizes, minlength=n_slots)
        sizes[-1] = 0.0
        distances = walk(sorted_scores, np.ascontiguousarray(sorted_cell, np.int32), slot,
                         n_slots, sizes)
    result: list[float | None] = []
    for p, groups in enumerate(kept):
        if len(groups) < 2:
            result.append(None)
            continue
        if compiled:
            result.append(float(distances[np.asarray(groups)].max()))
            continue
        local = np.full(int(cell_group[:, p].max()) + 1, -1, dtype=np.int64)
        local[np.asarray(groups)] = np.arange(len(groups))
        cell_local = local[cell_group[:, p]]
        sizes = np.bincount(cell_local[cell_local >= 0], weights=cell_sizes[cell_local >= 0],
                            minlength=len(groups))
        distances_p = _wasserstein(sorted_scores, cell_local[sorted_cell], len(groups), sizes,
                                   steps)
        result.append(float(distances_p.max()))
    return result
