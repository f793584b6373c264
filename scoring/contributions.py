"""Per-case contributions: what each case adds to the sums that metrics are computed from.

A :class:`Design` names the statistics of a task (``layout``), gives each case's sparse row of
contributions (``cols``/``vals``, see :mod:`scoring.tallies`), the score sweeps for rank metrics
and the per-case values whose medians are wanted. Metrics (:mod:`scoring.metrics`) read the
tallied statistics back by name through :class:`Stats`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from scoring.error_costs import UNIT_COSTS, ErrorCosts
from scoring.io import Predictions, Truth
from scoring.tallies import Sweep, Tallies, descending_sweep, narrowest_int

ECE_BINS = 10
# scikit-learn's log_loss clips probabilities to [eps, 1 - eps]; we do the same so that a
# confident wrong prediction costs a large but finite amount.
EPS = np.finfo(np.float64).eps


@dataclass
class Design:
    task: str
    n_cases: int
    n_classes: int
    threshold: float
    costs: ErrorCosts = UNIT_COSTS  # the weights of expected_cost
    layout: dict[str, slice] = field(default_factory=dict)
    cols: list[np.ndarray] = field(default_factory=list)
    vals: list[np.ndarray] = field(default_factory=list)
    sweeps: list[Sweep] = field(default_factory=list)
    sweep_names: list[str] = field(default_factory=list)
    medians: list[np.ndarray] = field(default_factory=list)
    median_names: list[str] = field(default_factory=list)
    scores: np.ndarray | None = None  # the scores parity's Wasserstein distance compares
    n_stats: int = 0

    def add(self, name: str, width: int, column: np.ndarray | int, values: np.ndarray | float):
        """Statistic block ``name`` of ``width`` slots; each case adds ``values`` to slot
        ``column`` (an array of per-case slots or one slot for all)."""
        start = self.n_stats
        self.layout[name] = slice(start, start + width)
        self.n_stats += width
        shape = (self.n_cases,)
        column = np.asarray(column)
        if column.ndim:  # per-case slots, in the narrowest type that holds them (memory)
            slots = narrowest_int(self.n_stats - 1)
            column = column.astype(slots)
            column += slots(start)
        else:
            column = np.int64(start + column)
        self.cols.append(np.broadcast_to(column, shape))
        self.vals.append(np.broadcast_to(np.asarray(values, np.float64), shape))

    def sweep(self, name: str, scores: np.ndarray, positive: np.ndarray) -> None:
        self.sweeps.append(descending_sweep(scores, positive))
        self.sweep_names.append(name)

    def median(self, name: str, values: np.ndarray) -> None:
        self.medians.append(values)
        self.median_names.append(name)

    def matrix(self) -> tuple[np.ndarray, np.ndarray]:
        return np.column_stack(self.cols), np.column_stack(self.vals)


def binary_decisions(truth: Truth, predictions: Predictions, threshold: float) -> np.ndarray:
    """The team's own 0/1 labels when given, else ``score >= threshold``."""
    if predictions.labels is not None:
        return predictions.labels.astype(np.int64)
    return (predictions.scores >= threshold).astype(np.int64)


def _log_loss(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """−log p of each case's true class (p clipped as scikit-learn clips it): log of the
    score for positives, log1p of minus the score for negatives, each taken only where
    needed."""
    clipped = np.clip(scores, EPS, 1 - EPS)
    negative = ~positive
    loss = np.empty_like(clipped)
    np.log(clipped, out=loss, where=positive)
    np.negative(clipped, out=clipped, where=negative)
    np.log1p(clipped, out=loss, where=negative)
    np.negative(loss, out=loss)
    return loss


def build_design(
    truth: Truth,
    predictions: Predictions,
    *,
    threshold: float,
    costs: ErrorCosts = UNIT_COSTS,
    case_values: Sequence[tuple[str, np.ndarray, bool]] = (),
) -> Design:
    """Statistics for ``truth.task``; ``case_values`` adds (name, per-case values, median?)
    for per-case scorers; ``costs`` weigh the errors of ``expected_cost``."""
    n = truth.n
    design = Design(
        task=truth.task, n_cases=n, n_classes=len(truth.classes or ()), threshold=threshold,
        costs=costs,
    )
    design.add("n", 1, 0, 1.0)
    if truth.task == "binary":
        # Each step below writes into as few new arrays of n values as it can: at 10 million
        # cases a fresh float64 array costs more in first-touched pages than its arithmetic.
        y = truth.labels.astype(np.int8)
        positive = y == 1
        s = predictions.scores
        # Confusion cells in the order tn, fp, fn, tp (index 2·label + decision).
        cells = binary_decisions(truth, predictions, threshold).astype(np.int8)
        cells += 2 * y
        design.add("confusion", 4, cells, 1.0)
        squared = s - y
        squared *= squared
        design.add("brier", 1, 0, squared)
        design.add("log_loss", 1, 0, _log_loss(s, positive))
        bins = s * ECE_BINS
        np.floor(bins, out=bins)
        np.minimum(bins, ECE_BINS - 1, out=bins)
        bins = bins.astype(np.int8)
        design.add("ece_count", ECE_BINS, bins, 1.0)
        design.add("ece_score", ECE_BINS, bins, s)
        design.add("ece_positive", ECE_BINS, bins, positive.astype(np.float64))
        design.sweep("score", s, positive)
        design.scores = s
    elif truth.task == "multiclass":
        classes = np.array(truth.classes, dtype=object)
        k = len(classes)
        index = {c: i for i, c in enumerate(truth.classes)}
        y = np.array([index[c] for c in truth.labels], dtype=np.int64)
        predicted = np.array([index[c] for c in predictions.labels], dtype=np.int64)
        design.add("confusion", k * k, y * k + predicted, 1.0)
        if predictions.probabilities is not None:
            p_true = predictions.probabilities[np.arange(n), y]
            design.add("log_loss", 1, 0, -np.log(np.clip(p_true, EPS, 1 - EPS)))
            for c in range(k):
                design.sweep(f"class {c}", predictions.probabilities[:, c], y == c)
    else:
        y = truth.labels.astype(np.float64)
        p = predictions.values.astype(np.float64)
        # Centred at the overall means so that variances from sums of squares keep precision.
        yc = y - y.mean()
        pc = p - p.mean()
        for name, values in (
            ("y", yc), ("yy", yc * yc), ("p", pc), ("pp", pc * pc), ("yp", yc * pc),
            ("abs_error", np.abs(p - y)), ("squared_error", (p - y) ** 2),
        ):
            design.add(name, 1, 0, values)
        design.scores = p
    for name, values, want_median in case_values:
        design.add(f"case:{name}", 1, 0, values)
        if want_median:
            design.median(f"case:{name}", values)
    return design


class Stats:
    """Tallied statistics by name, each with shape (resamples, groups[, width])."""

    def __init__(self, tallies: Tallies, design: Design):
        self._tallies = tallies
        self.design = design

    def __getitem__(self, name: str) -> np.ndarray:
        block = self._tallies.sums[..., self.design.layout[name]]
        return block[..., 0] if block.shape[-1] == 1 else block

    def has(self, name: str) -> bool:
        return name in self.design.layout

    def auc(self, sweep: str) -> np.ndarray:
        return self._tallies.auc[:, self.design.sweep_names.index(sweep)]

    def ap(self, sweep: str) -> np.ndarray:
        return self._tallies.ap[:, self.design.sweep_names.index(sweep)]

    def median(self, name: str) -> np.ndarray:
        return self._tallies.medians[:, self.design.median_names.index(name)]

    def confusion(self) -> np.ndarray:
        """Multiclass confusion matrices (resamples, groups, true, predicted)."""
        k = self.design.n_classes
        return self["confusion"].reshape(*self["confusion"].shape[:-1], k, k)
