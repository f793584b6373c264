"""Weighted tallies of per-case contributions, per group and per bootstrap resample.

Every metric is a function of a few sums over the cases of a group (confusion counts, sums of
squared errors, ...) and, for AUROC, average precision and medians, of one sweep over the cases
sorted by score. This module computes those sums for all groups and all resamples in one
compiled pass, so the cost is O(resamples × cases), with no loop per metric or per group.

Layout. Cases belong to one *cell* each: the combination of all attribute values. A group (the
whole set, one attribute value, or one value pair of an intersection) is a union of cells; the
table ``cell_group[cell, partition]`` names the group of each cell in each partition. Additive
sums are taken per cell, then added up into groups, so their cost does not grow with the number
of partitions. Per-case contributions are a sparse matrix in fixed-width form: case ``i`` adds
``weight × vals[i, j]`` to statistic ``cols[i, j]``.

Resampling. Resample ``b`` draws n case indices with replacement from a SplitMix64 stream
seeded by ``seeds[b]`` (from ``numpy.random.SeedSequence``), and weights each case by how often
it was drawn. Streams are per resample, so results do not depend on the number of threads.
SplitMix64: Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
# numba's default (workqueue) threading layer must not be entered by two threads at once.
_PARALLEL = threading.Lock()


@dataclass(frozen=True)
class Sweep:
    """Cases in descending score order with tie blocks, and which cases are positive."""

    order: np.ndarray  # (n,) int64 case indices, highest score first
    block: np.ndarray  # (n,) int64, equal for consecutive cases with equal scores
    positive: np.ndarray  # (n,) bool, indexed by case


def descending_sweep(scores: np.ndarray, positive: np.ndarray) -> Sweep:
    order = np.argsort(-scores, kind="stable")
    ordered = scores[order]
    block = np.concatenate(([0], np.cumsum(ordered[1:] != ordered[:-1])))
    return Sweep(order=order.astype(np.int64), block=block.astype(np.int64), positive=positive)


@nb.njit(cache=True)
def _resample_counts(seed, n, counts):  # pragma: no cover - compiled
    counts[:] = 0
    state = seed
    size = np.uint64(n)
    for _ in range(n):
        state = state + _GOLDEN
        z = state
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        z = z ^ (z >> np.uint64(31))
        # Lemire's multiply-shift maps 32 random bits to [0, n) without a division.
        counts[np.int64(((z >> np.uint64(32)) * size) >> np.uint64(32))] += 1


def resample_counts(seed: int, n: int) -> np.ndarray:
    """How often each of ``n`` positions is drawn in the resample of stream ``seed``."""
    counts = np.zeros(n, np.int32)
    _resample_counts(np.uint64(seed), n, counts)
    return counts


@nb.njit(cache=True)
def _rank_sweep(weights, position, block, positive, cell, cell_group, auc, ap):  # pragma: no cover
    """Mann-Whitney pair sums (ties count ½) and average-precision sums for every group.

    Walking tie blocks from the highest score down, each group adds, per block,
    negatives × positives seen before + ½ negatives × positives of the block; average precision
    (scikit-learn's definition) adds the block's positives × the precision once the block is
    in. The caller divides by positives × negatives and by positives. All arrays but
    ``weights`` are in sweep order; ``position[t]`` is the weight index of the t-th case.

    Speed: most blocks hold one case, and that path has no data-dependent branch (a weight of
    0 adds zeros), since mispredicted branches, not arithmetic, bound this loop.
    """
    n = position.shape[0]
    n_partitions = cell_group.shape[1]
    # Per group: positives and negatives so far, pair sum, precision sum; interleaved so that
    # one group's state is one cache line and updates go through locals.
    state = np.zeros((auc.shape[0], 4))
    block_pos = np.zeros(auc.shape[0])
    block_neg = np.zeros(auc.shape[0])
    t = 0
    while t < n:
        end = t + 1
        while end < n and block[end] == block[t]:
            end += 1
        if end == t + 1:
            w = np.float64(weights[position[t]])
            w_pos = w * positive[t]
            w_neg = w - w_pos
            c = cell[t]
            for p in range(n_partitions):
                g = cell_group[c, p]
                tp = state[g, 0]
                state[g, 2] += w_neg * tp
                tp += w_pos
                fp = state[g, 1] + w_neg
                state[g, 0] = tp
                state[g, 1] = fp
                state[g, 3] += w_pos * tp / max(tp + fp, 1.0)
        else:
            for u in range(t, end):
                w = np.float64(weights[position[u]])
                w_pos = w * positive[u]
                c = cell[u]
                for p in range(n_partitions):
                    g = cell_group[c, p]
                    block_pos[g] += w_pos
                    block_neg[g] += w - w_pos
            for u in range(t, end):
                c = cell[u]
                for p in range(n_partitions):
                    g = cell_group[c, p]
                    if block_pos[g] > 0 or block_neg[g] > 0:
                        state[g, 2] += block_neg[g] * (state[g, 0] + 0.5 * block_pos[g])
                        state[g, 0] += block_pos[g]
                        state[g, 1] += block_neg[g]
                        if block_pos[g] > 0:
                            state[g, 3] += block_pos[g] * state[g, 0] / (state[g, 0] + state[g, 1])
                        block_pos[g] = 0.0
                        block_neg[g] = 0.0
        t = end
    auc[:] = state[:, 2]
    ap[:] = state[:, 3]


@nb.njit(cache=True)
def _median_sweep(weights, position, values, cell, cell_group, total, out):  # pragma: no cover
    """Median of each group's weighted values (mean of the two middle ones for even counts).
    Arrays but ``weights`` are in ascending value order."""
    n_groups = out.shape[0]
    n_partitions = cell_group.shape[1]
    seen = np.zeros(n_groups)
    low = np.floor((total + 1) / 2)
    high = np.floor(total / 2) + 1
    low_value = np.full(n_groups, np.nan)
    high_value = np.full(n_groups, np.nan)
    for t in range(position.shape[0]):
        w = weights[position[t]]
        if w == 0:
            continue
        v = values[t]
        c = cell[t]
        for p in range(n_partitions):
            g = cell_group[c, p]
            before = seen[g]
            after = before + w
            if before < low[g] <= after:
                low_value[g] = v
            if before < high[g] <= after:
                high_value[g] = v
            seen[g] = after
    for g in range(n_groups):
        out[g] = 0.5 * (low_value[g] + high_value[g])


@nb.njit(parallel=True, cache=True)
def _tally(
    seeds, resample, cell, cell_group, n_groups, cols, vals, n_stats,
    rank_position, rank_block, rank_positive, rank_cell,
    median_position, median_values, median_cell,
):  # pragma: no cover - compiled
    n = cell.shape[0]
    n_resamples = seeds.shape[0]
    n_cells, n_partitions = cell_group.shape
    n_ranks = rank_position.shape[0]
    n_medians = median_position.shape[0]
    width = cols.shape[1]
    sums = np.zeros((n_resamples, n_groups, n_stats))
    auc = np.zeros((n_resamples, n_ranks, n_groups))
    ap = np.zeros((n_resamples, n_ranks, n_groups))
    medians = np.zeros((n_resamples, n_medians, n_groups))
    for b in nb.prange(n_resamples):
        weights = np.ones(n, np.int32)
        if resample:
            _resample_counts(seeds[b], n, weights)
        per_cell = np.zeros((n_cells, n_stats))
        for i in range(n):
            w = weights[i]
            c = cell[i]
            for j in range(width):
                per_cell[c, cols[i, j]] += w * vals[i, j]
        for c in range(n_cells):
            for p in range(n_partitions):
                g = cell_group[c, p]
                for m in range(n_stats):
                    sums[b, g, m] += per_cell[c, m]
        for r in range(n_ranks):
            _rank_sweep(
                weights, rank_position[r], rank_block[r], rank_positive[r], rank_cell[r],
                cell_group, auc[b, r], ap[b, r],
            )
        for q in range(n_medians):
            _median_sweep(
                weights, median_position[q], median_values[q], median_cell[q], cell_group,
                sums[b, :, 0], medians[b, q],
            )
    return sums, auc, ap, medians


@dataclass(frozen=True)
class Tallies:
    """Sums per (resample, group, statistic); rank sums per (resample, sweep, group).

    Statistic 0 is always the number of cases. With no resampling the leading axis has length 1
    and holds the point estimate.
    """

    sums: np.ndarray
    auc: np.ndarray
    ap: np.ndarray
    medians: np.ndarray


def tally(
    *,
    cell: np.ndarray,
    cell_group: np.ndarray,
    n_groups: int,
    cols: np.ndarray,
    vals: np.ndarray,
    n_stats: int,
    sweeps: Sequence[Sweep] = (),
    medians: Sequence[np.ndarray] = (),
    seeds: np.ndarray | None = None,
) -> Tallies:
    """Tally once with every case weighted 1 (``seeds`` None) or once per seed, resampled.

    ``medians`` holds per-case values whose group medians are wanted. Column 0 of ``cols``
    must add 1 per case to statistic 0 (the count).

    Speed: the sweeps walk the cases in score order, and reading per-case data in case order
    there would miss the cache on almost every case. So cases are renumbered in the order of
    the first sweep; that sweep and the additive pass then read memory sequentially. (Resample
    streams draw positions in this numbering.)
    """
    n = len(cell)
    resample = seeds is not None
    seeds = np.zeros(1, np.uint64) if seeds is None else np.asarray(seeds, np.uint64)
    primary = sweeps[0].order if sweeps else np.arange(n)
    renumber = np.empty(n, np.int64)
    renumber[primary] = np.arange(n)
    cell = np.ascontiguousarray(cell[primary], np.int32)

    def in_order(order: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(renumber[order], np.int32)

    def stack(arrays: list[np.ndarray], dtype) -> np.ndarray:
        return np.array(arrays, dtype).reshape(len(arrays), n)

    median_orders = [np.argsort(values, kind="stable") for values in medians]
    with _PARALLEL:
        sums, auc, ap, med = _tally(
            seeds, resample, cell, np.ascontiguousarray(cell_group, np.int32), n_groups,
            np.ascontiguousarray(cols[primary], np.int32),
            np.ascontiguousarray(vals[primary], np.float64), n_stats,
            stack([in_order(s.order) for s in sweeps], np.int32),
            stack([s.block for s in sweeps], np.int64),
            stack([s.positive[s.order] for s in sweeps], np.bool_),
            stack([cell[renumber[s.order]] for s in sweeps], np.int32),
            stack([in_order(order) for order in median_orders], np.int32),
            stack([values[order] for values, order in zip(medians, median_orders, strict=True)],
                  np.float64),
            stack([cell[renumber[order]] for order in median_orders], np.int32),
        )
    return Tallies(sums=sums, auc=auc, ap=ap, medians=med)
