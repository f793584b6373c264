"""The compiled (numba) kernels behind :mod:`scoring.tallies` and :mod:`scoring.fairness`:
resample streams, the rank and median sweeps, the tally of every group over every resample in
one pass, and the score Wasserstein distance of every group.

A module of their own so that numba is imported, and its cached machine code loaded, only by
the work that runs a kernel (resampling, medians, the field's per-entry sweeps); the point
estimates of ``evaluate`` are tallied with numpy (``scoring.tallies``). The layout of the
arrays is described in :mod:`scoring.tallies`.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


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


@nb.njit(cache=True)
def _wasserstein(sorted_values, sorted_group, n_groups, sizes):  # pragma: no cover - compiled
    """∫ |F_group − F_rest| for each group, over values sorted ascending (the loop of
    ``scoring.fairness._wasserstein``, for large groups)."""
    n = sorted_values.shape[0]
    seen = np.zeros(n_groups)
    distance = np.zeros(n_groups)
    for t in range(n - 1):
        seen[sorted_group[t]] += 1
        gap = sorted_values[t + 1] - sorted_values[t]
        if gap == 0:
            continue
        for g in range(n_groups):
            rest = n - sizes[g]
            if sizes[g] == 0 or rest == 0:
                continue
            distance[g] += gap * abs(seen[g] / sizes[g] - (t + 1 - seen[g]) / rest)
    return distance
