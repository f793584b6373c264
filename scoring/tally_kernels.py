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
def _point_walks(
    cell_group, n_groups, n, rank_block, rank_positive, rank_cell, median_values, median_cell,
    totals,
):  # pragma: no cover - compiled
    """The point estimate's rank and median sums (every case weighted 1): ``_tally``'s walks
    without its resampling and its additive pass, which numpy takes in case order. With equal
    weights a case's position does not matter, so every walk reads the weights in order."""
    n_ranks = rank_block.shape[0]
    n_medians = median_values.shape[0]
    weights = np.ones(n, np.int32)
    position = np.arange(n).astype(np.int32)
    auc = np.zeros((1, n_ranks, n_groups))
    ap = np.zeros((1, n_ranks, n_groups))
    medians = np.zeros((1, n_medians, n_groups))
    for r in range(n_ranks):
        _rank_sweep(weights, position, rank_block[r], rank_positive[r], rank_cell[r],
                    cell_group, auc[0, r], ap[0, r])
    for q in range(n_medians):
        _median_sweep(weights, position, median_values[q], median_cell[q], cell_group, totals,
                      medians[0, q])
    return auc, ap, medians


@nb.njit(cache=True)
def _wasserstein(sorted_values, sorted_cell, slot, n_slots, sizes):  # pragma: no cover
    """∫ |F_group − F_rest| for each group of every partition at once, over values sorted
    ascending (the loop of ``scoring.fairness._wasserstein``, for large sets): ``slot[c, p]``
    is cell ``c``'s group in partition ``p`` (the last slot, of size 0, for groups left
    out), so one walk serves every partition."""
    n = sorted_values.shape[0]
    n_partitions = slot.shape[1]
    seen = np.zeros(n_slots)
    distance = np.zeros(n_slots)
    for t in range(n - 1):
        c = sorted_cell[t]
        for p in range(n_partitions):
            seen[slot[c, p]] += 1
        gap = sorted_values[t + 1] - sorted_values[t]
        if gap == 0:
            continue
        for g in range(n_slots):
            rest = n - sizes[g]
            if sizes[g] == 0 or rest == 0:
                continue
            distance[g] += gap * abs(seen[g] / sizes[g] - (t + 1 - seen[g]) / rest)
    return distance


# Lanes per chunk (see _tally_lanes): a compile-time constant, so that the loops over the lanes
# of a case are unrolled into a few vector instructions with no remainder, and one group's
# sweep state (4 × 16 float64) is eight cache lines, all groups' state within the first-level
# cache.
LANES = 32
_ULANES, _U1, _U2, _U3, _U4 = (np.uint64(k * LANES) for k in (1, 1, 2, 3, 4))
# Cases per block of the transposition from lane-major counts to case-major lanes.
_BLOCK = 4096

# The lane kernels below run the operations of the per-resample kernels above, in the same
# order for each lane, so each lane's sums equal theirs bit for bit. numba's "numpy" error
# model (a division by zero gives inf or nan, as in numpy, instead of raising) lets LLVM
# vectorise their loops over lanes; no division here has a zero divisor that reaches a result.


@nb.njit(cache=True, error_model="numpy")
def _lane_weights(seeds, constant, cap, weights, overflow):  # pragma: no cover - compiled
    """Resample counts of every lane side by side: ``weights[i, l]`` is how often lane ``l``
    drew position ``i``, or ``constant[l]`` where that is not negative (0: a padding lane).

    The draws are those of :func:`_resample_counts`, lane by lane into a lane-major buffer
    (one lane's random increments stay within n bytes), then transposed block by block. A count
    that would pass ``cap`` stays at it and flags the lane in ``overflow``: the caller redoes
    that resample alone with wider counts."""
    n = weights.shape[0]
    size = np.uint64(n)
    by_lane = np.zeros((LANES, n), np.uint8)
    for lane in range(LANES):
        row = by_lane[lane]
        if constant[lane] >= 0:
            row[:] = constant[lane]
            continue
        state = seeds[lane]
        for _ in range(n):
            state = state + _GOLDEN
            z = state
            z = (z ^ (z >> np.uint64(30))) * _MIX1
            z = (z ^ (z >> np.uint64(27))) * _MIX2
            z = z ^ (z >> np.uint64(31))
            i = ((z >> np.uint64(32)) * size) >> np.uint64(32)
            if row[i] >= cap:
                overflow[lane] = True
            else:
                row[i] += np.uint8(1)
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        for i in range(start, stop):
            for lane in range(LANES):
                weights[i, lane] = by_lane[lane, i]


@nb.njit(cache=True, error_model="numpy")
def _lane_rank_sweep(weights, position, block, positive, cell, cell_group,
                     state, pending):  # pragma: no cover - compiled
    """:func:`_rank_sweep` for every lane (``weights`` (cases, LANES)) into ``state``
    (groups, 5, LANES: positives and negatives so far, pair sum, precision sum, and the
    positives of the current tie block; zeros on entry); ``pending`` (groups, bool) is all
    False on entry and on return.

    A case that is positive in one lane is positive in all, so each case takes the branch of
    its label once for every lane and leaves out the terms that add exact zeros there (a
    positive adds no pairs, a negative no precision), and the division is only for
    positives. Counts and pair sums are integers or halves of integers (weights are whole
    numbers), exact in float64 below 2**52, so the order in which they are added changes no
    bit; precision sums are not, and each group's terms are added in the order of
    ``_rank_sweep``, one per tie block that holds its positives, from the same exact counts.
    So in a tie block the positives are set apart first, each negative then adds its pairs
    against the positives before the block and half those of the block, and the positives
    join at the block's end.

    Arrays are indexed flat with unsigned offsets: numba then adds no wraparound for negative
    indices, and LLVM sees that a group's quantities lie at constant distances in one array,
    so the loops over lanes become vector code."""
    n = position.shape[0]
    n_partitions = cell_group.shape[1]
    w = weights.ravel()
    s = state.ravel()
    t = 0
    while t < n:
        end = t + 1
        while end < n and block[end] == block[t]:
            end += 1
        if end == t + 1:
            row = np.uint64(position[t] * LANES)
            c = cell[t]
            if positive[t]:
                for p in range(n_partitions):
                    k = np.uint64(cell_group[c, p] * 5 * LANES)
                    for lane in range(_ULANES):
                        weight = np.float64(w[row + lane])
                        seen = s[k + lane] + weight
                        s[k + lane] = seen
                        s[k + _U3 + lane] += (
                            weight * seen / max(seen + s[k + _U1 + lane], 1.0)
                        )
            else:
                for p in range(n_partitions):
                    k = np.uint64(cell_group[c, p] * 5 * LANES)
                    for lane in range(_ULANES):
                        weight = np.float64(w[row + lane])
                        s[k + _U2 + lane] += weight * s[k + lane]
                        s[k + _U1 + lane] += weight
            t = end
            continue
        for u in range(t, end):
            if not positive[u]:
                continue
            row = np.uint64(position[u] * LANES)
            c = cell[u]
            for p in range(n_partitions):
                g = cell_group[c, p]
                pending[g] = True
                k = np.uint64(g * 5 * LANES)
                for lane in range(_ULANES):
                    s[k + _U4 + lane] += np.float64(w[row + lane])
        for u in range(t, end):
            if positive[u]:
                continue
            row = np.uint64(position[u] * LANES)
            c = cell[u]
            for p in range(n_partitions):
                k = np.uint64(cell_group[c, p] * 5 * LANES)
                for lane in range(_ULANES):
                    weight = np.float64(w[row + lane])
                    s[k + _U2 + lane] += weight * (s[k + lane] + 0.5 * s[k + _U4 + lane])
                    s[k + _U1 + lane] += weight
        for u in range(t, end):
            if not positive[u]:
                continue
            c = cell[u]
            for p in range(n_partitions):
                g = cell_group[c, p]
                if not pending[g]:
                    continue
                pending[g] = False
                k = np.uint64(g * 5 * LANES)
                # bp · seen / max(seen + false, 1) is _rank_sweep's bp · seen / (seen + false)
                # where bp > 0 (then seen ≥ 1) and an exact zero where bp is 0.
                for lane in range(_ULANES):
                    bp = s[k + _U4 + lane]
                    seen = s[k + lane] + bp
                    s[k + lane] = seen
                    s[k + _U3 + lane] += bp * seen / max(seen + s[k + _U1 + lane], 1.0)
                    s[k + _U4 + lane] = 0.0
        t = end


@nb.njit(cache=True, error_model="numpy")
def _lane_median_sweep(weights, position, values, cell, cell_group, total,
                       out):  # pragma: no cover - compiled
    """:func:`_median_sweep` for every lane; ``total`` and ``out`` are (lanes, groups)."""
    n_groups = out.shape[1]
    n_partitions = cell_group.shape[1]
    lanes = LANES
    seen = np.zeros((n_groups, lanes))
    low = np.floor((total.T + 1) / 2)
    high = np.floor(total.T / 2) + 1
    low_value = np.full((n_groups, lanes), np.nan)
    high_value = np.full((n_groups, lanes), np.nan)
    for t in range(position.shape[0]):
        w_row = weights[position[t]]
        v = values[t]
        c = cell[t]
        for p in range(n_partitions):
            g = cell_group[c, p]
            for lane in range(lanes):
                w = w_row[lane]
                if w == 0:
                    continue
                before = seen[g, lane]
                after = before + w
                if before < low[g, lane] <= after:
                    low_value[g, lane] = v
                if before < high[g, lane] <= after:
                    high_value[g, lane] = v
                seen[g, lane] = after
    for g in range(n_groups):
        for lane in range(lanes):
            out[lane, g] = 0.5 * (low_value[g, lane] + high_value[g, lane])


@nb.njit(cache=True, error_model="numpy")
def _lane_chunk(
    seeds, constant, cap, cell, cell_group, n_groups, case_type, type_cell, type_cols,
    type_vals, real_cols, real_vals, n_stats,
    rank_position, rank_block, rank_positive, rank_cell,
    median_position, median_values, median_cell,
    sums, auc, ap, medians, overflow,
):  # pragma: no cover - compiled
    """One chunk of LANES lanes of :func:`_tally_lanes`, into its slices of the outputs."""
    n = cell.shape[0]
    lanes = LANES
    n_cells, n_partitions = cell_group.shape
    case_type_count = type_cell.shape[0]
    weights = np.empty((n, lanes), np.uint8)
    _lane_weights(seeds, constant, cap, weights, overflow)
    w = weights.ravel()
    # Whole-number contributions: each case adds its weight to its type's count ...
    counts = np.zeros(case_type_count * LANES)
    for i in range(n):
        row = np.uint64(i * LANES)
        k = np.uint64(case_type[i] * LANES)
        for lane in range(_ULANES):
            counts[k + lane] += np.float64(w[row + lane])
    per_cell = np.zeros(n_cells * n_stats * LANES)
    # ... and the other contributions one by one, in _tally's order.
    for i in range(n):
        row = np.uint64(i * LANES)
        c = cell[i]
        for j in range(real_cols.shape[1]):
            v = real_vals[i, j]
            k = np.uint64((c * n_stats + real_cols[i, j]) * LANES)
            for lane in range(_ULANES):
                per_cell[k + lane] += np.float64(w[row + lane]) * v
    for t in range(case_type_count):
        c = type_cell[t]
        for j in range(type_cols.shape[1]):
            v = type_vals[t, j]
            k = np.uint64((c * n_stats + type_cols[t, j]) * LANES)
            at = np.uint64(t * LANES)
            for lane in range(_ULANES):
                per_cell[k + lane] += counts[at + lane] * v
    for c in range(n_cells):
        for p in range(n_partitions):
            g = cell_group[c, p]
            for m in range(n_stats):
                k = (c * n_stats + m) * LANES
                for lane in range(lanes):
                    sums[lane, g, m] += per_cell[k + lane]
    state = np.zeros((n_groups, 5, lanes))
    pending = np.zeros(n_groups, np.bool_)
    for r in range(rank_position.shape[0]):
        state[:] = 0.0
        _lane_rank_sweep(weights, rank_position[r], rank_block[r], rank_positive[r],
                         rank_cell[r], cell_group, state, pending)
        for g in range(n_groups):
            for lane in range(lanes):
                auc[lane, r, g] = state[g, 2, lane]
                ap[lane, r, g] = state[g, 3, lane]
    for q in range(median_position.shape[0]):
        _lane_median_sweep(weights, median_position[q], median_values[q], median_cell[q],
                           cell_group, sums[:, :, 0], medians[:, q])


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _tally_lanes(
    seeds, constant, cap, cell, cell_group, n_groups, case_type, type_cell, type_cols,
    type_vals, real_cols, real_vals, n_stats,
    rank_position, rank_block, rank_positive, rank_cell,
    median_position, median_values, median_cell,
):  # pragma: no cover - compiled
    """The sums of :func:`_tally` for every lane, LANES lanes per walk over the cases (chunks
    of lanes run in parallel) instead of one walk per resample. ``seeds`` and ``constant``
    (see :func:`_lane_weights`) hold a multiple of LANES lanes.

    The contributions ``cols``/``vals`` of ``_tally`` come split: those of the columns where
    every case adds a whole number (counts; their sums are exact, whatever the order) as each
    case's type (``case_type``: its cell and those columns' slots and values, the table
    ``type_cell``/``type_cols``/``type_vals``), so that a case adds its weight once to its
    type's count; the other columns (``real_cols``/``real_vals``) case by case, in ``_tally``'s
    order, so that their sums round as there.

    Returns the sums, pair sums, precision sums and medians of every lane, and which lanes
    overflowed ``cap`` (their sums are to be discarded)."""
    n_lanes = seeds.shape[0]
    sums = np.zeros((n_lanes, n_groups, n_stats))
    auc = np.zeros((n_lanes, rank_position.shape[0], n_groups))
    ap = np.zeros((n_lanes, rank_position.shape[0], n_groups))
    medians = np.zeros((n_lanes, median_position.shape[0], n_groups))
    overflow = np.zeros(n_lanes, np.bool_)
    for k in nb.prange(n_lanes // LANES):
        lo, hi = k * LANES, (k + 1) * LANES
        _lane_chunk(
            seeds[lo:hi], constant[lo:hi], cap, cell, cell_group, n_groups, case_type,
            type_cell, type_cols, type_vals, real_cols, real_vals, n_stats,
            rank_position, rank_block, rank_positive, rank_cell,
            median_position, median_values, median_cell,
            sums[lo:hi], auc[lo:hi], ap[lo:hi], medians[lo:hi], overflow[lo:hi],
        )
    return sums, auc, ap, medians, overflow
