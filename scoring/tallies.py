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

import numpy as np

# numba's default (workqueue) threading layer must not be entered by two threads at once.
_PARALLEL = threading.Lock()
# Point estimates' rank sums (and the score distances) of fewer cases are numpy passes: loading
# numba and its cached kernels costs about half a second of CPU, more than the compiled walks
# save below this size, while above it they win (docs/benchmarks.md, "Whole-process
# scoring"). Their additive sums are numpy bincounts at every size.
NUMPY_CASES = 1_000_000
# Resample counts are tallied as uint8 lanes (see tally()): the largest count a lane holds.
LANE_CAP = 255


@dataclass(frozen=True)
class Sweep:
    """Cases in descending score order with tie blocks, and which cases are positive."""

    order: np.ndarray  # (n,) int64 case indices, highest score first
    block: np.ndarray  # (n,) int64, equal for consecutive cases with equal scores
    positive: np.ndarray  # (n,) bool, indexed by case
    scores: np.ndarray | None = None  # (n,) the scores in this order, where kept


def descending_sweep(scores: np.ndarray, positive: np.ndarray) -> Sweep:
    """The sweep of ``scores``: the order of a stable sort by descending score (tied cases by
    case index, which the resample streams' numbering depends on), with its tie blocks.

    Speed: numpy's ``argsort`` of float64 has no vector code on this hardware (1.7 s at 10
    million cases) while its ``sort`` of 64-bit integers has (0.2 s). So each case becomes one
    integer: the leading bits of its score's order-preserving bit pattern, negated for the
    descending order, above its index; one ``sort`` then orders by score and ties by index.
    Scores that agree in those leading bits but differ below them (rare: a relative
    difference under 2**-24 at 10 million cases) are put in order afterwards
    (:func:`_finer_order`). NaNs are left to numpy's stable sort."""
    n = len(scores)
    scores = np.asarray(scores, np.float64)
    if n == 0 or np.isnan(scores).any():
        order = np.argsort(-scores, kind="stable")
        ordered = scores[order]
    else:
        index_bits = np.uint64(max(1, (n - 1).bit_length()))
        packed = _descending_bits(scores)
        packed >>= index_bits
        packed <<= index_bits
        packed |= np.arange(n, dtype=np.uint64)
        packed.sort()
        order = (packed & ((np.uint64(1) << index_bits) - np.uint64(1))).view(np.int64)
        ordered = scores[order]
        packed >>= index_bits  # the leading bits alone
        _finer_order(order, ordered, packed)
    block = np.zeros(n, np.int64)
    np.cumsum(ordered[1:] != ordered[:-1], out=block[1:])
    return Sweep(order=order, block=block, positive=positive, scores=ordered)


def _descending_bits(scores: np.ndarray) -> np.ndarray:
    """Unsigned integers in the reverse order of the (non-NaN) ``scores``, equal exactly where
    the scores are (−0.0 and 0.0 included).

    As unsigned integers, floats are in ascending order once every bit of a negative number
    and the sign bit of a positive one are flipped; the descending order is the complement:
    a negative number's bits as they are, a positive one's with every bit but the sign's
    flipped."""
    bits = (scores + 0.0).view(np.uint64)  # + 0.0 turns −0.0 into 0.0
    flip = bits >> np.uint64(63)  # 1 for a negative number
    flip -= np.uint64(1)  # 0, or every bit set
    flip >>= np.uint64(1)  # 0, or every bit but the sign's
    flip ^= bits
    return flip


def _finer_order(order: np.ndarray, ordered: np.ndarray, coarse: np.ndarray) -> None:
    """Reorder, in place, the runs of equal ``coarse`` keys whose scores differ, by descending
    score and then by case index (``order`` holds the indices, ``ordered`` their scores)."""
    rough = np.flatnonzero((coarse[1:] == coarse[:-1]) & (ordered[1:] != ordered[:-1]))
    if rough.size == 0:
        return
    run = np.zeros(len(order), np.int64)
    np.cumsum(coarse[1:] != coarse[:-1], out=run[1:])
    where = np.flatnonzero(np.isin(run, run[rough]))
    resorted = np.lexsort((order[where], -ordered[where], run[where]))
    order[where] = order[where][resorted]
    ordered[where] = ordered[where][resorted]


def resample_counts(seed: int, n: int) -> np.ndarray:
    """How often each of ``n`` positions is drawn in the resample of stream ``seed``."""
    from scoring.tally_kernels import _resample_counts

    counts = np.zeros(n, np.int32)
    _resample_counts(np.uint64(seed), n, counts)
    return counts


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
    cols: np.ndarray | Sequence[np.ndarray],
    vals: np.ndarray | Sequence[np.ndarray],
    n_stats: int,
    sweeps: Sequence[Sweep] = (),
    medians: Sequence[np.ndarray] = (),
    seeds: np.ndarray | None = None,
    cap: int = LANE_CAP,
    lanes: bool = True,
) -> Tallies:
    """Tally once with every case weighted 1 (``seeds`` None) or once per seed, resampled.

    ``cols``/``vals`` are the per-case contributions (see the module's docstring), a
    (cases, width) matrix each or one (cases,) array per column (``Design.cols``/``vals``).
    ``medians`` holds per-case values whose group medians are wanted. Column 0 of ``cols``
    must add 1 per case to statistic 0 (the count).

    Without resampling (the point estimates) the additive sums are a few numpy bincounts in
    case order (:func:`_point_tally`), and so are the rank sums below ``NUMPY_CASES`` cases
    without medians, so that such a process never loads numba; from ``NUMPY_CASES`` cases on,
    and for medians, the rank and median sweeps are the compiled walks of
    :mod:`scoring.tally_kernels` (``_point_walks``).

    Resamples are tallied side by side (``_tally_lanes``): one walk over the cases adds every
    resample's weight, a ``uint8`` count per case and lane, so that each case's data are read
    once, not once per resample, and the innermost loop (over lanes) is vector code. A count
    above ``cap`` (255, the most a ``uint8`` holds; a draw of n from n would need a case drawn
    256 times) sends that resample alone through the per-resample kernel ``_tally``, with
    ``int32`` counts. Both give the same sums bit for bit (tests/scoring/test_lanes.py);
    ``lanes=False`` runs ``_tally`` for every resample, the reference those tests compare with.

    Speed: the sweeps walk the cases in score order, and reading per-case data in case order
    there would miss the cache on almost every case. So cases are renumbered in the order of
    the first sweep; that sweep and the additive pass then read memory sequentially. (Resample
    streams draw positions in this numbering.)
    """
    cols, vals = _columns(cols, vals)
    if seeds is None:
        return _point_tally(cell, cell_group, n_groups, cols, vals, n_stats, sweeps, medians)
    ordered = _sweep_ordered(cell, cell_group, cols, vals, sweeps, medians)
    seeds = np.asarray(seeds, np.uint64)
    if not lanes:
        return _per_resample(seeds, True, n_groups, n_stats, ordered)
    return _lanes(seeds, cap, n_groups, n_stats, ordered)


def _columns(
    cols: np.ndarray | Sequence[np.ndarray], vals: np.ndarray | Sequence[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The contributions as one (n,) array per column: a (cases, width) matrix's columns, or
    ``Design.cols``/``Design.vals`` as they are (their constant columns are broadcast views,
    which no step copies case by case)."""
    if isinstance(cols, np.ndarray) and cols.ndim == 2:
        width = cols.shape[1]
        return [cols[:, j] for j in range(width)], [vals[:, j] for j in range(width)]
    return list(cols), list(vals)


def _constant(column: np.ndarray) -> bool:
    """Whether every case holds the same value (broadcast views are checked by their
    strides, without a pass)."""
    if column.size == 0 or (column.ndim == 1 and column.strides[0] == 0):
        return True
    return bool((column == column[0]).all())


def point_and_resamples(*, seeds: np.ndarray, **arrays) -> tuple[Tallies, Tallies]:
    """The point estimate and every resample (``tally``'s other arguments in ``arrays``): the
    point estimate as without resampling, so that its sums do not depend on whether
    intervals are asked for."""
    return tally(**arrays), tally(**arrays, seeds=seeds)


@dataclass(frozen=True)
class _Ordered:
    """The kernels' inputs with cases renumbered in the order of the first sweep."""

    primary: np.ndarray  # (n,) case index of each position
    cell: np.ndarray  # (n,) int32 cell of each position
    cell_group: np.ndarray
    cols: list[np.ndarray]  # per column, in case order (as given)
    vals: list[np.ndarray]
    walks: tuple[np.ndarray, ...]  # the sweeps' and medians' arrays, as _tally takes them

    def matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """The contributions as (n, width) matrices in position order (``_tally``'s)."""
        n, width = len(self.primary), len(self.cols)
        cols, vals = np.empty((n, width), np.int32), np.empty((n, width), np.float64)
        for j in range(width):
            cols[:, j] = self.cols[j] if _constant(self.cols[j]) else self.cols[j][self.primary]
            vals[:, j] = self.vals[j] if _constant(self.vals[j]) else self.vals[j][self.primary]
        return cols, vals


def _sweep_ordered(
    cell: np.ndarray, cell_group: np.ndarray, cols: list[np.ndarray], vals: list[np.ndarray],
    sweeps: Sequence[Sweep], medians: Sequence[np.ndarray],
) -> _Ordered:
    """Per-case arrays renumbered in the order of the first sweep, and each sweep's and
    median's walk in that numbering."""
    n = len(cell)
    primary = sweeps[0].order if sweeps else np.arange(n)
    renumber = np.empty(n, np.int64)
    renumber[primary] = np.arange(n)
    cell = np.ascontiguousarray(cell[primary], np.int32)

    def in_order(order: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(renumber[order], np.int32)

    def stack(arrays: list[np.ndarray], dtype) -> np.ndarray:
        return np.array(arrays, dtype).reshape(len(arrays), n)

    median_orders = [np.argsort(values, kind="stable") for values in medians]
    primary_sweep = [np.arange(n, dtype=np.int32)] if sweeps else []
    walks = (
        # The first sweep's positions are 0, 1, … by construction.
        stack(primary_sweep + [in_order(s.order) for s in sweeps[1:]], np.int32),
        stack([s.block for s in sweeps], np.int64),
        stack([s.positive[s.order] for s in sweeps], np.bool_),
        stack([cell[renumber[s.order]] for s in sweeps], np.int32),
        stack([in_order(order) for order in median_orders], np.int32),
        stack([values[order] for values, order in zip(medians, median_orders, strict=True)],
              np.float64),
        stack([cell[renumber[order]] for order in median_orders], np.int32),
    )
    return _Ordered(primary=primary, cell=cell, cell_group=np.ascontiguousarray(
        cell_group, np.int32), cols=cols, vals=vals, walks=walks)


def _per_resample(
    seeds: np.ndarray, resample: bool, n_groups: int, n_stats: int, ordered: _Ordered
) -> Tallies:
    """One walk over the cases per seed (``_tally``): the reference the lane tally is tested
    against (``lanes=False``), and the fallback of a resample whose counts overflow a lane."""
    from scoring.tally_kernels import _tally

    cols, vals = ordered.matrix()
    with _PARALLEL:
        sums, auc, ap, med = _tally(seeds, resample, ordered.cell, ordered.cell_group, n_groups,
                                    cols, vals, n_stats, *ordered.walks)
    return Tallies(sums=sums, auc=auc, ap=ap, medians=med)


def _lanes(
    seeds: np.ndarray, cap: int, n_groups: int, n_stats: int, ordered: _Ordered
) -> Tallies:
    """Every resample in one walk per chunk of ``LANES`` lanes (the last padded with empty
    lanes); chunks run on numba's threads."""
    from scoring.tally_kernels import LANES, _tally_lanes

    typed = _case_types(ordered)
    used = len(seeds)
    padded = -(-used // LANES) * LANES
    lane_seeds = np.zeros(padded, np.uint64)
    lane_seeds[:used] = seeds
    constant = np.zeros(padded, np.int16)  # padding: every case weighted 0
    constant[:used] = -1  # drawn
    with _PARALLEL:
        sums, auc, ap, med, overflow = _tally_lanes(
            lane_seeds, constant, cap, ordered.cell, ordered.cell_group, n_groups, *typed,
            n_stats, *ordered.walks,
        )
    sums, auc, ap, med, overflow = (a[:used] for a in (sums, auc, ap, med, overflow))
    redo = np.flatnonzero(overflow)
    if redo.size:
        wide = _per_resample(lane_seeds[redo], True, n_groups, n_stats, ordered)
        sums[redo], auc[redo], ap[redo], med[redo] = wide.sums, wide.auc, wide.ap, wide.medians
    return Tallies(sums=sums, auc=auc, ap=ap, medians=med)


def _case_types(ordered: _Ordered) -> tuple[np.ndarray, ...]:
    """Contributions split for ``_tally_lanes``, in position order: columns whose values are
    all whole numbers (counts, labels; at most ``2**20`` apart, so that their sums stay exact
    in float64) make up a type per case (its cell and those columns' slots and values, as the
    digits of one number), with a table of what each type adds; the other columns stay per
    case. Constant columns add no digit and are not copied case by case."""
    cols, vals, primary = ordered.cols, ordered.vals, ordered.primary
    whole = []
    for j, values in enumerate(vals):
        low, high = float(values.min(initial=0)), float(values.max(initial=0))
        if (max(-low, high) <= 2**20
                and (_constant(values) or np.array_equal(values, np.round(values)))):
            whole.append(j)
    real = [j for j in range(len(cols)) if j not in whole]
    key = ordered.cell.astype(np.int64)
    radix = int(key.max(initial=0)) + 1
    for part in [cols[j] for j in whole] + [vals[j] for j in whole]:
        if _constant(part):
            continue  # no digit
        low = part.min()
        size = int(part.max() - low) + 1
        if radix * size >= 2**40:
            key = dense_codes(key, radix)
            radix = int(key.max()) + 1
        key = key * size + (part[primary] - low).astype(np.int64)
        radix *= size
    case_type = dense_codes(key, radix)
    first = one_of_each(case_type)  # any case of the type: they add alike
    n = len(primary)
    real_cols, real_vals = np.empty((n, len(real)), np.int32), np.empty((n, len(real)))
    for r, j in enumerate(real):
        real_cols[:, r] = cols[j] if _constant(cols[j]) else cols[j][primary]
        real_vals[:, r] = vals[j][primary]
    at = primary[first]
    return (
        np.ascontiguousarray(case_type, np.int32),
        np.ascontiguousarray(ordered.cell[first], np.int32),
        np.array([np.broadcast_to(cols[j], (n,))[at] for j in whole], np.int32).T.reshape(
            len(first), len(whole)).copy(),
        np.array([np.broadcast_to(vals[j], (n,))[at] for j in whole], np.float64).T.reshape(
            len(first), len(whole)).copy(),
        real_cols, real_vals,
    )


def narrowest_int(top: int) -> type[np.signedinteger]:
    """The narrowest signed integer type that holds 0 … ``top``."""
    for kind in (np.int8, np.int16, np.int32):
        if top <= np.iinfo(kind).max:
            return kind
    return np.int64


def narrow(codes: np.ndarray) -> np.ndarray:
    """Non-negative integer codes (cells, groups) in the narrowest integer type that holds
    them: gathering them in another order (by score) reads 1 or 2 bytes per case instead of 8,
    a table that stays in the processor's cache at 10 million cases."""
    return codes.astype(narrowest_int(int(codes.max(initial=0))), copy=False)


def one_of_each(codes: np.ndarray) -> np.ndarray:
    """For codes 0 … k − 1 (``dense_codes``'), the index of one case holding each (which one
    does not matter to the callers: the cases of a code are alike for them)."""
    first = np.empty(int(codes.max(initial=-1)) + 1, np.int64)
    first[codes] = np.arange(len(codes))
    return first


def dense_codes(key: np.ndarray, radix: int) -> np.ndarray:
    """``key`` (values in [0, radix)) renumbered 0, 1, … in the order of the values: one
    bincount and a lookup where the radix is small next to n, else ``np.unique`` (a sort)."""
    if radix <= 4 * len(key) + 1024:
        present = np.bincount(key, minlength=radix) > 0
        return (np.cumsum(present) - 1)[key]
    return np.unique(key, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _point_tally(
    cell: np.ndarray, cell_group: np.ndarray, n_groups: int, cols: list[np.ndarray],
    vals: list[np.ndarray], n_stats: int, sweeps: Sequence[Sweep],
    medians: Sequence[np.ndarray] = (),
) -> Tallies:
    """The tally with every case weighted 1: the additive sums in numpy, the rank sums in
    numpy too below ``NUMPY_CASES`` cases without medians, else the compiled walks (the same
    sums as the per-resample kernel: tests/scoring/test_bootstrap.py compares them).

    Speed: the sums are taken in case order, so no per-case array is gathered into the sweep's
    order (at 10 million cases that gather took 5 s of random reads); a column that is one
    slot for every case is a bincount of the cells alone, and a count (a column adding a whole
    number per case) is read off the cells' sizes."""
    n_cells, n_partitions = cell_group.shape
    per_cell = _per_cell_sums(np.asarray(cell, np.int64), n_cells, cols, vals, n_stats)
    sums = np.zeros((n_groups, n_stats))
    for p in range(n_partitions):
        np.add.at(sums, cell_group[:, p], per_cell)
    if medians or len(cell) >= NUMPY_CASES:
        return _compiled_walks(cell, cell_group, n_groups, sums, sweeps, medians)
    auc = np.zeros((1, len(sweeps), n_groups))
    ap = np.zeros((1, len(sweeps), n_groups))
    group_type = np.int16 if n_groups < 2**15 else np.int64  # int16 sorts by radix
    for r, sweep in enumerate(sweeps):
        case_cell = cell[sweep.order]
        positive = sweep.positive[sweep.order].astype(np.float64)
        for p in range(n_partitions):
            group = cell_group[:, p].astype(group_type)[case_cell]
            pairs, precision = _rank_sums(group, positive, sweep.block, n_groups)
            auc[0, r] += pairs
            ap[0, r] += precision
    return Tallies(sums=sums[None], auc=auc, ap=ap, medians=np.zeros((1, 0, n_groups)))


def _per_cell_sums(
    cell: np.ndarray, n_cells: int, cols: list[np.ndarray], vals: list[np.ndarray],
    n_stats: int,
) -> np.ndarray:
    """(cells, statistics) sums of the contributions, every case weighted 1."""
    per_cell = np.zeros((n_cells, n_stats))
    flat = per_cell.reshape(-1)
    sizes = None
    base = None
    for column, values in zip(cols, vals, strict=True):
        if _constant(column) and len(column):
            slot = int(column[0])
            if _constant(values) and float(values[0]).is_integer():
                # A whole number per case: sizes × that number is the exact sum.
                if sizes is None:
                    sizes = np.bincount(cell, minlength=n_cells).astype(np.float64)
                per_cell[:, slot] += sizes * float(values[0])
            else:
                per_cell[:, slot] += np.bincount(cell, weights=values, minlength=n_cells)
            continue
        if base is None:
            base = cell * n_stats
        weights = None if _constant(values) and len(values) and values[0] == 1 else values
        flat += np.bincount(base + column, weights=weights, minlength=n_cells * n_stats)
    return per_cell


def _compiled_walks(
    cell: np.ndarray, cell_group: np.ndarray, n_groups: int, sums: np.ndarray,
    sweeps: Sequence[Sweep], medians: Sequence[np.ndarray],
) -> Tallies:
    """``_point_tally``'s rank and median sums from the compiled walks over the cases in score
    (and value) order: one pass per sweep for every partition at once."""
    from scoring.tally_kernels import _point_walks

    n = len(cell)
    cell = narrow(cell)

    def stack(arrays: list[np.ndarray], dtype) -> np.ndarray:
        if len(arrays) == 1:
            return np.ascontiguousarray(arrays[0], dtype)[None]
        return np.array(arrays, dtype).reshape(len(arrays), n)

    median_orders = [np.argsort(values) for values in medians]  # ties: any order
    auc, ap, med = _point_walks(
        np.ascontiguousarray(cell_group, np.int32), n_groups, n,
        stack([s.block for s in sweeps], np.int64),
        stack([s.positive[s.order] for s in sweeps], np.bool_),
        stack([cell[s.order] for s in sweeps], np.int32),
        stack([values[order] for values, order in zip(medians, median_orders, strict=True)],
              np.float64),
        stack([cell[order] for order in median_orders], np.int32),
        np.ascontiguousarray(sums[:, 0]),
    )
    return Tallies(sums=sums[None], auc=auc, ap=ap, medians=med)


def _rank_sums(
    group: np.ndarray, positive: np.ndarray, block: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mann-Whitney pair sums and average-precision sums per group (as ``_rank_sweep`` of
    ``scoring.tally_kernels``), for cases in descending score order with tie ``block`` ids.

    Each group's cases, kept in score order (a stable sort by group), split into segments: the
    group's cases of one tie block. A segment adds negatives × (positives before it + ½ its
    positives) to the pair sum and, if it holds positives, positives × the precision once it
    is in (scikit-learn's average precision).
    """
    if group.size == 0:
        return np.zeros(n_groups), np.zeros(n_groups)
    if group[0] == group[-1] and (group == group[0]).all():
        by_group = slice(None)
    else:
        by_group = np.argsort(group, kind="stable")
    group, positive, block = group[by_group], positive[by_group], block[by_group]
    start = np.empty(group.size, dtype=bool)
    start[0] = True
    np.not_equal(group[1:], group[:-1], out=start[1:])
    start[1:] |= block[1:] != block[:-1]
    segment = np.cumsum(start) - 1
    seg_pos = np.bincount(segment, weights=positive)
    seg_neg = np.bincount(segment).astype(np.float64) - seg_pos
    seg_group = group[start]
    first = np.empty(seg_group.size, dtype=bool)
    first[0] = True
    np.not_equal(seg_group[1:], seg_group[:-1], out=first[1:])
    which = np.cumsum(first) - 1

    def before(counts: np.ndarray) -> np.ndarray:
        """Cases of the segment's group in the segments before it."""
        exclusive = np.cumsum(counts) - counts
        return exclusive - exclusive[first][which]

    pos_before, neg_before = before(seg_pos), before(seg_neg)
    pairs = seg_neg * (pos_before + 0.5 * seg_pos)
    seen = pos_before + seg_pos
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(seg_pos > 0, seg_pos * seen / (seen + neg_before + seg_neg), 0.0)
    return (np.bincount(seg_group, weights=pairs, minlength=n_groups),
            np.bincount(seg_group, weights=precision, minlength=n_groups))

