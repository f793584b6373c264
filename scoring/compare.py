"""Which entries differ significantly on one metric: every pair of a field, tested and corrected.

For each unordered pair (``a`` ranked above ``b`` on the metric) the difference of their values,
its paired-bootstrap 95 % interval (both entries on the same resamples) and a test of "no
difference" chosen by the metric (see :func:`pairwise_test` and docs/ranking.md):

* ``delong``: binary AUROC, DeLong's test for correlated ROC areas (:mod:`scoring.delong`);
* ``mcnemar_exact``: accuracy, McNemar's exact test on the discordant cases;
* ``wilcoxon``: per-case metrics (mean losses, scorer values), Wilcoxon's signed-rank test;
* ``paired_bootstrap``: every other metric, from the same resamples as the interval.

The p-values of all pairs that have one are corrected together by Holm's step-down method.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import binom, wilcoxon

from scoring.bootstrap import LEVEL, MIN_DEFINED, percentile_intervals
from scoring.contributions import binary_decisions
from scoring.delong import delong
from scoring.error_costs import UNIT_COSTS, ErrorCosts
from scoring.errors import InputError
from scoring.field_values import FieldMetric, is_per_case
from scoring.groups import check_cases
from scoring.io import Predictions, Truth
from scoring.metrics import Metric
from scoring.ranking import primary
from scoring.registry import check_metrics, get_metric
from scoring.weighted_stats import resample_weights

DELONG = "delong"
MCNEMAR = "mcnemar_exact"
WILCOXON = "wilcoxon"
PAIRED_BOOTSTRAP = "paired_bootstrap"
TESTS: tuple[str, ...] = (DELONG, MCNEMAR, WILCOXON, PAIRED_BOOTSTRAP)

IDENTICAL = "the two entries' predictions are identical"
NO_DISCORDANT = "no case is decided correctly by one entry and wrongly by the other"
ZERO_VARIANCE = "the difference has zero variance: the two entries order the cases alike"
ALL_ZERO = "the per-case values of the two entries are equal on every case"
FEW_CASES = "DeLong's variance needs at least two positive and two negative cases"
FEW_RESAMPLES = "the metric is undefined in over 5% of resamples"
# Memory for one chunk of resample weights (float32, resamples x cases).
CHUNK_BYTES = 64 * 2**20
# Below this many cases scipy's ``method="auto"`` may choose an exact Wilcoxon distribution per
# pair, which its vectorised form cannot reproduce pair by pair.
_WILCOXON_EXACT_CASES = 50


@dataclass(frozen=True)
class PairComparison:
    """Entry ``a`` (ranked above) against entry ``b`` on the metric.

    ``difference`` is value(a) − value(b), raw (negative for a lower-is-better metric when a is
    better); None when either value is undefined. ``ci`` is its 95 % paired-bootstrap interval,
    None with ``ci_reason``. ``p_value`` is the two-sided p of ``test``, None with ``reason``
    where the test is undefined; ``p_holm`` the Holm-adjusted p over the pairs with a p-value,
    and ``significant`` whether Holm rejects "no difference" at the comparison's alpha.
    """

    a: str
    b: str
    difference: float | None
    ci: tuple[float, float] | None
    test: str
    p_value: float | None
    p_holm: float | None
    significant: bool
    reason: str | None = None
    ci_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "a": self.a, "b": self.b, "difference": self.difference,
            "ci": None if self.ci is None else list(self.ci),
            "test": self.test, "p_value": self.p_value, "p_holm": self.p_holm,
            "significant": self.significant,
        }
        if self.reason is not None:
            result["reason"] = self.reason
        if self.ci_reason is not None:
            result["ci_reason"] = self.ci_reason
        return result


@dataclass(frozen=True)
class Comparison:
    """Every pair of entries on one metric. ``entries`` are in rank order on the metric (ties
    keep input order, undefined values last); ``tied_with_leader`` is the leader and every
    entry whose difference from it is defined and not significant (empty when no entry has a
    value)."""

    metric: str
    alpha: float
    entries: tuple[str, ...]
    pairs: tuple[PairComparison, ...]
    tied_with_leader: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "alpha": self.alpha,
            "entries": list(self.entries),
            "pairs": [pair.to_dict() for pair in self.pairs],
            "tied_with_leader": list(self.tied_with_leader),
        }


def pairwise_test(metric: Metric) -> str:
    """The test :func:`compare_entries` uses for ``metric`` (one of :data:`TESTS`)."""
    if metric.id == "auroc" and metric.task == "binary":
        return DELONG
    if metric.id == "accuracy":
        return MCNEMAR
    if is_per_case(metric):
        return WILCOXON
    return PAIRED_BOOTSTRAP


def compare_entries(
    truth: Truth,
    predictions: Sequence[Predictions],
    names: Sequence[str],
    *,
    metric: str,
    threshold: float = 0.5,
    costs: ErrorCosts = UNIT_COSTS,
    cases: np.ndarray | None = None,
    alpha: float = 0.05,
    bootstrap: int = 1000,
    seed: int = 0,
) -> Comparison:
    """Compare every pair of ``predictions`` (entries called ``names``) on ``metric``.

    ``cases`` optionally selects the cases (a boolean mask, e.g. the public split);
    ``threshold`` turns binary scores into decisions unless an entry gave labels (as in
    ``scoring.evaluate``), ``costs`` weigh the errors of ``expected_cost``. ``bootstrap``
    resamples, seeded by ``seed``, give every interval and
    the paired-bootstrap test; resample b weights the cases by
    :func:`scoring.weighted_stats.resample_weights`, the same for every entry. ``alpha`` is the
    family-wise error rate Holm's correction controls. Raises :class:`InputError` for invalid
    options (including ``bootstrap`` below 1 and repeated names).
    """
    chosen = _check(truth, predictions, names, metric, threshold, cases, alpha, bootstrap)
    if cases is not None:
        truth = truth.subset(cases)
        predictions = [p.subset(cases) for p in predictions]
    problems = costs.problems()
    if problems:
        raise InputError(problems)
    field = FieldMetric(chosen, truth, predictions, threshold, costs)
    point = field.values(np.ones((1, truth.n), dtype=np.float32))[0]
    resampled = np.empty((bootstrap, len(names)))
    chunk = max(1, CHUNK_BYTES // (4 * truth.n))
    for start in range(0, bootstrap, chunk):
        stop = min(start + chunk, bootstrap)
        resampled[start:stop] = field.values(resample_weights(truth.n, range(start, stop), seed))

    order = primary(point[:, np.newaxis], chosen.higher_is_better).order
    upper, lower = np.triu_indices(len(names), k=1)
    a, b = order[upper], order[lower]
    test = pairwise_test(chosen)
    defined = np.isfinite(point[a]) & np.isfinite(point[b])
    p_values, reasons = _tests(test, chosen, truth, predictions, threshold, field, resampled, a, b)
    identical = _identical(truth.task, predictions)
    undefined = f"the metric is undefined for an entry: {chosen.undefined or 'no cases'}"
    reasons = np.where(identical[a] == identical[b], IDENTICAL, reasons)
    reasons = np.where(defined, reasons, undefined)
    p_values = np.where(reasons == "", p_values, np.nan)

    p_holm, significant = _holm(p_values, alpha)

    lows, highs = _intervals(resampled, a, b)
    pairs = []
    for k in range(len(a)):
        has_ci = defined[k] and math.isfinite(lows[k]) and math.isfinite(highs[k])
        pairs.append(PairComparison(
            a=names[a[k]], b=names[b[k]],
            difference=float(point[a[k]] - point[b[k]]) if defined[k] else None,
            ci=(float(lows[k]), float(highs[k])) if has_ci else None,
            test=test,
            p_value=_number(p_values[k]), p_holm=_number(p_holm[k]),
            significant=bool(significant[k]),
            reason=str(reasons[k]) or None,
            ci_reason=None if has_ci else (FEW_RESAMPLES if defined[k] else undefined),
        ))
    tied: tuple[str, ...] = ()
    if math.isfinite(point[order[0]]):
        leader = order[0]
        tied = (names[leader],) + tuple(
            names[b[k]] for k in np.flatnonzero(a == leader)
            if defined[k] and not significant[k]
        )
    return Comparison(
        metric=chosen.id, alpha=alpha, entries=tuple(names[i] for i in order),
        pairs=tuple(pairs), tied_with_leader=tied,
    )


def holm(p_values: Sequence[float | None], alpha: float) -> tuple[list[float | None], list[bool]]:
    """Holm's step-down correction of ``p_values`` at family-wise error rate ``alpha``: the
    adjusted p-values and the rejections. ``None`` (an undefined test) is left out of the family
    and stays ``None``, not rejected. For a caller that builds a family of its own tests (the
    web's adjacent pairs of a large leaderboard) with the correction :func:`compare_entries`
    applies."""
    p = np.array([np.nan if value is None else value for value in p_values], dtype=float)
    adjusted, reject = _holm(p, alpha)
    return [_number(value) for value in adjusted], [bool(value) for value in reject]


def _holm(p_values: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`holm` on an array, NaN for an undefined test: Holm (1979), "A simple
    sequentially rejective multiple test procedure", on the defined ones, computed as
    ``statsmodels.stats.multitest.multipletests(p, alpha, method="holm")`` computes it (the
    tests compare the two). Not by calling it: its Holm branch runs ``gc.collect()`` on every
    call, which in a worker process with Django loaded took 0.28 s, once per leaderboard and
    split, more than the comparison itself.

    In increasing order of p, with k = m, m-1, …, 1 tests left: the adjusted p is the running
    maximum of min(1, k·p); hypotheses are rejected up to the first p > alpha / k."""
    tested = np.flatnonzero(np.isfinite(p_values))
    p_holm = np.full(len(p_values), np.nan)
    significant = np.zeros(len(p_values), dtype=bool)
    if len(tested):
        order = np.argsort(p_values[tested])
        ordered = p_values[tested][order]
        left = np.arange(len(ordered), 0, -1)
        kept = np.flatnonzero(ordered > alpha / left)
        reject = np.arange(len(ordered)) < (kept[0] if len(kept) else len(ordered))
        adjusted = np.minimum(np.maximum.accumulate(ordered * left), 1.0)
        p_holm[tested[order]], significant[tested[order]] = adjusted, reject
    return p_holm, significant


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _check(truth, predictions, names, metric, threshold, cases, alpha, bootstrap) -> Metric:
    problems = []
    if len(names) != len(predictions):
        problems.append(f"{len(names)} names for {len(predictions)} predictions")
    if len(predictions) < 2:
        problems.append("give at least two entries to compare")
    repeated = sorted({name for name in names if list(names).count(name) > 1})
    if repeated:
        problems.append("entry names appear more than once: " + ", ".join(repeated))
    if any(p.task != truth.task for p in predictions):
        problems.append(f"every predictions file must be for the ground truth's task {truth.task}")
    if truth.task == "binary" and not 0 < threshold < 1:
        problems.append(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    if not 0 < alpha < 1:
        problems.append(f"alpha must be between 0 and 1 (exclusive), got {alpha}")
    if bootstrap < 1:
        problems.append(
            "bootstrap must be a positive number of resamples (the intervals and the "
            f"paired-bootstrap test need them), got {bootstrap}"
        )
    problems += check_metrics(truth.task, [metric])
    problems += check_cases(cases, truth.n)
    cases = None if cases is None else np.asarray(cases)
    if problems:
        raise InputError(problems)
    chosen = get_metric(metric, truth.task)
    if chosen.needs_probabilities and any(p.probabilities is None for p in predictions):
        raise InputError(f"{chosen.id} needs probability columns p_<class> in every predictions "
                         "file")
    return chosen


def _identical(task: str, predictions: Sequence[Predictions]) -> np.ndarray:
    """A number per entry, equal for entries whose predictions are identical."""
    fields = {"binary": ("scores", "labels"), "multiclass": ("labels", "probabilities"),
              "regression": ("values",)}[task]
    seen: dict[tuple[bytes, ...], int] = {}
    keys = []
    for p in predictions:
        arrays = [getattr(p, name) for name in fields]
        key = tuple(
            b"" if array is None
            else np.ascontiguousarray(array.astype(str) if array.dtype == object else array)
            .tobytes()
            for array in arrays
        )
        keys.append(seen.setdefault(key, len(seen)))
    return np.array(keys)


def _tests(test, metric, truth, predictions, threshold, field, resampled, a, b):
    """(p-values, reasons) per pair; reason "" where the p-value is defined."""
    reasons = np.full(len(a), "", dtype=object)
    if test == DELONG:
        try:
            result = delong(truth.labels, np.vstack([p.scores for p in predictions]))
        except ValueError:
            return np.full(len(a), np.nan), np.full(len(a), FEW_CASES, dtype=object)
        p = result.p_values(a, b)
        reasons[result.pair_variance(a, b) == 0] = ZERO_VARIANCE
        return p, reasons
    if test == MCNEMAR:
        correct = np.vstack([
            (binary_decisions(truth, p, threshold) == truth.labels) if truth.task == "binary"
            else (p.labels == truth.labels)
            for p in predictions
        ]).astype(np.float64)
        # only_first[i, j]: cases entry i gets right and entry j wrong.
        only_first = correct @ (1.0 - correct).T
        n1, n2 = only_first[a, b], only_first[b, a]
        # As statsmodels' mcnemar(table, exact=True): twice the binomial tail of min(n1, n2).
        p = np.minimum(1.0, 2 * binom.cdf(np.minimum(n1, n2), n1 + n2, 0.5))
        reasons[n1 + n2 == 0] = NO_DISCORDANT
        return p, reasons
    if test == WILCOXON:
        return _wilcoxon(field.per_case(), a, b, reasons)
    delta = resampled[:, a] - resampled[:, b]
    finite = np.isfinite(delta)
    n_defined = finite.sum(axis=0)
    below = (finite & (delta <= 0)).sum(axis=0)
    above = (finite & (delta >= 0)).sum(axis=0)
    enough = n_defined >= MIN_DEFINED * len(resampled)
    p = np.full(len(a), np.nan)
    p[enough] = np.minimum(1.0, 2 * np.minimum(below, above)[enough] / n_defined[enough])
    reasons[~enough] = FEW_RESAMPLES
    return p, reasons


def _wilcoxon(values: np.ndarray, a: np.ndarray, b: np.ndarray, reasons: np.ndarray):
    """Two-sided signed-rank p per pair, as ``scipy.stats.wilcoxon(x, y, zero_method="wilcox",
    correction=False, method="auto")``; pairs equal on every case have none."""
    p = np.full(len(a), np.nan)
    differs = np.zeros(len(a), dtype=bool)
    for i in np.unique(a):
        rows = np.flatnonzero(a == i)
        differs[rows] = (values[b[rows]] != values[i]).any(axis=1)
    reasons[~differs] = ALL_ZERO
    options = {"zero_method": "wilcox", "correction": False, "method": "auto"}
    if values.shape[1] <= _WILCOXON_EXACT_CASES:
        for k in np.flatnonzero(differs):
            p[k] = wilcoxon(values[a[k]], values[b[k]], **options).pvalue
        return p, reasons
    # Above 50 cases "auto" is the normal approximation for every pair: one call per leader.
    for i in np.unique(a):
        rows = np.flatnonzero((a == i) & differs)
        if len(rows):
            x = np.broadcast_to(values[i], (len(rows), values.shape[1]))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                p[rows] = wilcoxon(x, values[b[rows]], axis=1, **options).pvalue
    return p, reasons


def _intervals(resampled: np.ndarray, a: np.ndarray, b: np.ndarray):
    """2.5/97.5 percentiles of each pair's resampled difference (NaN: too few defined).

    Pairs defined on every resample take one ``numpy.percentile`` call per leader, which equals
    :func:`scoring.bootstrap.percentile_intervals` there; the others go through it (its
    ``nanpercentile`` works column by column: 2.4 s for 19,900 pairs, against 0.3 s).
    """
    lows, highs = np.full(len(a), np.nan), np.full(len(a), np.nan)
    tail = 100 * (1 - LEVEL) / 2
    for i in np.unique(a):
        rows = np.flatnonzero(a == i)
        delta = resampled[:, [i]] - resampled[:, b[rows]]
        complete = np.isfinite(delta).all(axis=0)
        lows[rows[complete]], highs[rows[complete]] = np.percentile(
            delta[:, complete], [tail, 100 - tail], axis=0, method="linear")
        if not complete.all():
            lows[rows[~complete]], highs[rows[~complete]] = percentile_intervals(
                delta[:, ~complete])
    return lows, highs
