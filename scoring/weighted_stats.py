"""Metrics of a whole field of entries under case weights, for every group and resample at once.

Leaderboard robustness needs every ranked column of every entry on every bootstrap resample. A
resample is a row of case weights (how often each case was drawn, see :func:`resample_weights`);
the full data is a row of ones, so the point estimate and the bootstrap share one code path.

* Additive statistics (confusion counts, sums of per-case losses, calibration bins) are matrix
  products ``weights (B x N) @ indicators (N x entries·groups)``: BLAS does the work and the cost
  is O(B · N · S · G).
* AUROC and average precision come from one compiled sweep per entry over its cases sorted by
  score, accumulating weighted positives and negatives per tie block (Mann-Whitney pair sums with
  ties counting ½, which is what scikit-learn's trapezoidal ``roc_auc_score(sample_weight=...)``
  integrates; average precision as scikit-learn's ``average_precision_score``).

:class:`FieldStats` hands these sums to the registry's metric functions (:mod:`scoring.metrics`)
under the names they read, so a leaderboard column and ``scoring.evaluate`` share one definition
of every metric. Arrays have shape (resamples, entries, groups[, width]). Binary tasks only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba as nb
import numpy as np

from scoring.bootstrap import resample_seeds
from scoring.contributions import ECE_BINS, EPS, Design, Stats
from scoring.error_costs import UNIT_COSTS, ErrorCosts
from scoring.groups import Grouping
from scoring.tallies import _PARALLEL


def resample_weights(n_cases: int, resamples: range, seed: int) -> np.ndarray:
    """Case weights (len(resamples) x n_cases, float32) of the given bootstrap resamples.

    Resample ``b`` draws ``n_cases`` case indices with replacement from its own generator,
    seeded by the ``b``-th state of ``numpy.random.SeedSequence(seed)``; its weights count how
    often each case was drawn (a multinomial draw). Any chunk of resamples therefore gets the same
    weights however the resamples are split into chunks. Counts are small integers, exact in
    float32, which halves the memory of the matrix products.
    """
    seeds = resample_seeds(seed, resamples.stop)[resamples.start:resamples.stop]
    weights = np.empty((len(seeds), n_cases), dtype=np.float32)
    for row, stream in enumerate(seeds):
        drawn = np.random.default_rng(int(stream)).integers(0, n_cases, n_cases)
        weights[row] = np.bincount(drawn, minlength=n_cases)
    return weights


def per_case_loss(metric_id: str, labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Each case's contribution to the mean-loss metrics ``brier`` and ``log_loss``, the per-case
    metrics of ``rank_then_aggregate`` (same definitions and clipping as the engine's)."""
    if metric_id == "brier":
        return (scores - labels) ** 2
    clipped = np.clip(scores, EPS, 1 - EPS)
    return -np.where(labels == 1, np.log(clipped), np.log1p(-clipped))


PER_CASE_METRICS: tuple[str, ...] = ("brier", "log_loss")


@nb.njit(parallel=True, cache=True)
def _rank_sums(weights_t, order, block_end, positive, case_group, auc, ap):  # pragma: no cover
    """Per (resample, entry, group): Mann-Whitney pair sum and average-precision sum.

    ``weights_t`` is cases x resamples; ``order[s]`` lists entry s's cases by descending score;
    ``block_end[s, t]`` marks the last case of a run of equal scores. Walking the runs, each
    group adds negatives of the run × (positives seen before + ½ positives of the run), and, for
    average precision, positives of the run × precision once the run is in. The caller divides
    by positives × negatives and by positives.

    Speed: the innermost loop runs over resamples, contiguous in ``weights_t``, without a branch
    (a weight of 0 adds zeros), so it vectorises; whether a case is positive is known per case,
    so a run of one case (the common one) needs no run buffer. Entries run in parallel. Weights
    are counts (0 or at least 1), which keeps every precision denominator at least 1.
    """
    n_cases, n_resamples = weights_t.shape
    n_entries = order.shape[0]
    n_partitions = case_group.shape[0]
    n_groups = auc.shape[2]
    for s in nb.prange(n_entries):
        seen_pos = np.zeros((n_groups, n_resamples))
        seen_neg = np.zeros((n_groups, n_resamples))
        run_pos = np.zeros((n_groups, n_resamples))
        run_neg = np.zeros((n_groups, n_resamples))
        pairs = np.zeros((n_groups, n_resamples))
        precision = np.zeros((n_groups, n_resamples))
        start = 0
        for t in range(n_cases):
            i = order[s, t]
            w = weights_t[i]
            if block_end[s, t] and start == t:
                for p in range(n_partitions):
                    g = case_group[p, i]
                    if positive[i]:
                        for b in range(n_resamples):
                            seen = seen_pos[g, b] + w[b]
                            seen_pos[g, b] = seen
                            total = max(seen + seen_neg[g, b], 1.0)
                            precision[g, b] += w[b] * seen / total
                    else:
                        for b in range(n_resamples):
                            pairs[g, b] += w[b] * seen_pos[g, b]
                            seen_neg[g, b] += w[b]
                start = t + 1
                continue
            for p in range(n_partitions):
                g = case_group[p, i]
                target = run_pos if positive[i] else run_neg
                for b in range(n_resamples):
                    target[g, b] += w[b]
            if block_end[s, t]:
                for u in range(start, t + 1):
                    for p in range(n_partitions):
                        g = case_group[p, order[s, u]]
                        for b in range(n_resamples):
                            r_pos = run_pos[g, b]
                            r_neg = run_neg[g, b]
                            pairs[g, b] += r_neg * (seen_pos[g, b] + 0.5 * r_pos)
                            seen = seen_pos[g, b] + r_pos
                            seen_pos[g, b] = seen
                            seen_neg[g, b] += r_neg
                            total = max(seen + seen_neg[g, b], 1.0)
                            precision[g, b] += r_pos * seen / total
                            run_pos[g, b] = 0.0
                            run_neg[g, b] = 0.0
                start = t + 1
        for g in range(n_groups):
            for b in range(n_resamples):
                auc[b, s, g] = pairs[g, b]
                ap[b, s, g] = precision[g, b]


@dataclass
class PreparedField:
    """The per-case arrays of S entries on N cases, prepared once for any number of resamples.

    ``labels`` (N,) 0/1, ``scores`` and ``decisions`` (S x N), ``grouping`` the groups columns are
    computed on (group 0 is all cases). Indicator matrices are built on first use and kept, so
    every chunk of resamples reuses them.
    """

    labels: np.ndarray
    scores: np.ndarray
    decisions: np.ndarray
    grouping: Grouping
    threshold: float
    costs: ErrorCosts = UNIT_COSTS
    _indicators: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def n_entries(self) -> int:
        return self.scores.shape[0]

    @property
    def n_cases(self) -> int:
        return self.scores.shape[1]

    @property
    def n_groups(self) -> int:
        return self.grouping.n_groups

    def membership(self) -> np.ndarray:
        """(N x G) float32: 1 where the case is in the group."""
        if "membership" not in self._indicators:
            member = np.zeros((self.n_cases, self.n_groups), dtype=np.float32)
            for partition in self.grouping.partitions:
                member[np.arange(self.n_cases), partition.case_group] = 1.0
            self._indicators["membership"] = member
        return self._indicators["membership"]

    def by_group(self, name: str, per_case: np.ndarray, dtype: type) -> np.ndarray:
        """(N x S·G[·width]) matrix: entry s's per-case values (S x N[ x width]) kept in group g.

        Cached under ``name``; a weights row times it sums the values per entry and group.
        """
        if name not in self._indicators:
            member = self.membership().astype(dtype)
            values = np.asarray(per_case, dtype=dtype)
            if values.ndim == 2:
                product = np.einsum("sn,ng->nsg", values, member)
            else:
                product = np.einsum("snw,ng->nsgw", values, member)
            self._indicators[name] = product.reshape(self.n_cases, -1)
        return self._indicators[name]

    def sweeps(self) -> tuple[np.ndarray, np.ndarray]:
        """Each entry's cases by descending score, and where each run of equal scores ends."""
        if "order" not in self._indicators:
            order = np.argsort(-self.scores, axis=1, kind="stable")
            ordered = np.take_along_axis(self.scores, order, axis=1)
            block_end = np.ones(order.shape, dtype=np.bool_)
            block_end[:, :-1] = ordered[:, 1:] != ordered[:, :-1]
            self._indicators["order"] = np.ascontiguousarray(order, dtype=np.int32)
            self._indicators["block_end"] = block_end
        return self._indicators["order"], self._indicators["block_end"]


class FieldStats(Stats):
    """The statistics of a :class:`PreparedField` under a chunk of case weights, computed when a
    metric first reads them. Shapes: (resamples, entries, groups[, width])."""

    def __init__(self, field: PreparedField, weights: np.ndarray):
        self.design = Design(
            task="binary", n_cases=field.n_cases, n_classes=0, threshold=field.threshold,
            costs=field.costs, sweep_names=["score"],
        )
        self._field = field
        self._weights = np.ascontiguousarray(weights, dtype=np.float32)
        self._blocks: dict[str, np.ndarray] = {}

    @property
    def n_resamples(self) -> int:
        return self._weights.shape[0]

    def _sum(self, name: str, per_case: np.ndarray, dtype: type, width: int = 1) -> np.ndarray:
        matrix = self._field.by_group(name, per_case, dtype)
        total = self._weights.astype(dtype) @ matrix
        shape = (self.n_resamples, self._field.n_entries, self._field.n_groups)
        return total.astype(np.float64).reshape(shape + ((width,) if width > 1 else ()))

    def _group_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Weighted cases and positives per group, (resamples, 1, groups)."""
        member = self._field.membership()
        cases = self._weights @ member
        positives = self._weights @ (member * self._field.labels[:, np.newaxis])
        return (cases.astype(np.float64)[:, np.newaxis, :],
                positives.astype(np.float64)[:, np.newaxis, :])

    def _compute(self, name: str) -> np.ndarray:
        f = self._field
        shape = (self.n_resamples, f.n_entries, f.n_groups)
        if name == "n":
            return np.broadcast_to(self._group_counts()[0], shape)
        if name == "confusion":
            cases, positives = self._group_counts()
            # Counts are integers below 2**24, exact in float32 products.
            tp = self._sum("tp", f.decisions * f.labels, np.float32)
            fp = self._sum("fp", f.decisions * (1 - f.labels), np.float32)
            return np.stack([cases - positives - fp, fp, positives - tp, tp], axis=-1)
        if name in PER_CASE_METRICS:
            return self._sum(name, per_case_loss(name, f.labels, f.scores), np.float64)
        if name.startswith("ece_"):
            bins = np.minimum(np.floor(ECE_BINS * f.scores), ECE_BINS - 1).astype(np.int64)
            one_hot = np.eye(ECE_BINS)[bins]  # S x N x bins
            values = {"ece_count": one_hot, "ece_score": one_hot * f.scores[..., np.newaxis],
                      "ece_positive": one_hot * f.labels[np.newaxis, :, np.newaxis]}[name]
            return self._sum(name, values, np.float64, ECE_BINS)
        raise KeyError(name)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._blocks:
            self._blocks[name] = self._compute(name)
        return self._blocks[name]

    def has(self, name: str) -> bool:
        return name in ("n", "confusion", *PER_CASE_METRICS) or name.startswith("ece_")

    def _rank_sums(self) -> None:
        f = self._field
        order, block_end = f.sweeps()
        shape = (self.n_resamples, f.n_entries, f.n_groups)
        auc, ap = np.zeros(shape), np.zeros(shape)
        case_group = np.ascontiguousarray(
            np.stack([p.case_group for p in f.grouping.partitions]), dtype=np.int32
        )
        with _PARALLEL:
            _rank_sums(np.ascontiguousarray(self._weights.T), order, block_end,
                       f.labels.astype(np.bool_), case_group, auc, ap)
        self._blocks["auc"], self._blocks["ap"] = auc, ap

    def auc(self, sweep: str) -> np.ndarray:
        if "auc" not in self._blocks:
            self._rank_sums()
        return self._blocks["auc"]

    def ap(self, sweep: str) -> np.ndarray:
        if "ap" not in self._blocks:
            self._rank_sums()
        return self._blocks["ap"]

    def median(self, name: str) -> np.ndarray:
        raise KeyError(f"{name}: medians of per-case values are not available on leaderboards")

    def confusion(self) -> np.ndarray:
        raise KeyError("multiclass confusion matrices are not available on leaderboards")
