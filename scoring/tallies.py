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

from dataclasses import dataclass

import numba as nb
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


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
    modulus = np.uint64(n)
    for _ in range(n):
        state = state + _GOLDEN
        z = state
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        z = z ^ (z >> np.uint64(31))
        counts[np.int64(z % modulus)] += 1


def resample_counts(seed: int, n: int) -> np.ndarray:
    """How often each of ``n`` cases is drawn in the resample of stream ``seed``."""
    counts = np.zeros(n, np.int32)
    _resample_counts(np.uint64(seed), n, counts)
    return counts


@nb.njit(cache=True)
def _rank_sweep(weights, order, block, positive, cell, cell_group, auc, ap):  # pragma: no cover
    """Mann-Whitney pair sums (ties count ½) and average-precision sums for every group.

    Walking from the highest score down, a negative case pairs with every positive already
    seen in a higher tie block; within a block, the later of two cases adds ½ pair. Average
    precision (scikit-learn's definition) adds, at the end of each tie block, the block's
    positives × precision at that threshold; the caller divides by the positives.
    """
    n_groups = auc.shape[0]
    n_partitions = cell_group.shape[1]
    tp = np.zeros(n_groups)
    fp = np.zeros(n_groups)
    block_pos = np.zeros(n_groups)
    block_neg = np.zeros(n_groups)
    stamp = np.full(n_groups, -1, np.int64)
    for t in range(order.shape[0]):
        i = order[t]
        w = weights[i]
        if w == 0:
            continue
        current = block[t]
        is_positive = positive[i]
        c = cell[i]
        for p in range(n_partitions):
            g = cell_group[c, p]
            if stamp[g] != current:
                if block_pos[g] > 0:
                    ap[g] += block_pos[g] * tp[g] / (tp[g] + fp[g])
                block_pos[g] = 0.0
                block_neg[g] = 0.0
                stamp[g] = current
            if is_positive:
                auc[g] += 0.5 * w * block_neg[g]
                tp[g] += w
                block_pos[g] += w
            else:
                auc[g] += w * (tp[g] - block_pos[g]) + 0.5 * w * block_pos[g]
                fp[g] += w
                block_neg[g] += w
    for g in range(n_groups):
        if block_pos[g] > 0:
            ap[g] += block_pos[g] * tp[g] / (tp[g] + fp[g])


@nb.njit(cache=True)
def _median_sweep(weights, order, values, cell, cell_group, total, out):  # pragma: no cover
    """Median of each group's weighted values (mean of the two middle ones for even counts)."""
    n_groups = out.shape[0]
    n_partitions = cell_group.shape[1]
    seen = np.zeros(n_groups)
    low = np.floor((total + 1) / 2)
    high = np.floor(total / 2) + 1
    low_value = np.full(n_groups, np.nan)
    high_value = np.full(n_groups, np.nan)
    for t in range(order.shape[0]):
        i = order[t]
        w = weights[i]
        if w == 0:
            continue
        v = values[i]
        c = cell[i]
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
    rank_order, rank_block, rank_positive, median_order, median_values,
):  # pragma: no cover - compiled
    n = cell.shape[0]
    n_resamples = seeds.shape[0]
    n_cells, n_partitions = cell_group.shape
    n_ranks = rank_order.shape[0]
    n_medians = median_order.shape[0]
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
            if w == 0:
                continue
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
                weights, rank_order[r], rank_block[r], rank_positive[r], cell, cell_group,
                auc[b, r], ap[b, r],
            )
        for q in range(n_medians):
            _median_sweep(
                weights, median_order[q], median_values[q], cell, cell_group, sums[b, :, 0],
                medians[b, q],
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
    sweeps: list[Sweep] = (),  # type: ignore[assignment]
    medians: list[np.ndarray] = (),  # type: ignore[assignment]
    seeds: np.ndarray | None = None,
) -> Tallies:
    """Tally once with every case weighted 1 (``seeds`` None) or once per seed, resampled.

    ``medians`` holds per-case values whose group medians are wanted. Column 0 of ``cols``
    must add 1 per case to statistic 0 (the count).
    """
    n = len(cell)
    resample = seeds is not None
    seeds = np.zeros(1, np.uint64) if seeds is None else np.asarray(seeds, np.uint64)
    rank_order = np.array([s.order for s in sweeps], np.int64).reshape(len(sweeps), n)
    rank_block = np.array([s.block for s in sweeps], np.int64).reshape(len(sweeps), n)
    rank_positive = np.array([s.positive for s in sweeps], np.bool_).reshape(len(sweeps), n)
    median_values = np.array(medians, np.float64).reshape(len(medians), n)
    median_order = np.array(
        [np.argsort(v, kind="stable") for v in median_values], np.int64
    ).reshape(len(medians), n)
    sums, auc, ap, med = _tally(
        seeds, resample, np.ascontiguousarray(cell, np.int64),
        np.ascontiguousarray(cell_group, np.int64), n_groups,
        np.ascontiguousarray(cols, np.int64), np.ascontiguousarray(vals, np.float64), n_stats,
        rank_order, rank_block, rank_positive, median_order, median_values,
    )
    return Tallies(sums=sums, auc=auc, ap=ap, medians=med)
