"""Metric definitions: each a formula over tallied statistics, vectorised over groups and
resamples. Definitions, directions and undefined cases are documented in docs/metrics.md.

A metric returns NaN where it is undefined (a zero denominator); the caller turns NaN into
``null`` with the metric's ``undefined`` reason. No metric ever reports 0 for "undefined".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from scoring.contributions import Stats
from scoring.vocabulary import HIGHER, LOWER, higher_is_better


@dataclass(frozen=True)
class Metric:
    """A metric as organisers choose it: ``id`` is stable API; ``direction`` says whether
    ``higher`` or ``lower`` values are better; ``undefined`` says when it has no value."""

    id: str
    task: str
    direction: str
    description: str
    compute: Callable[[Stats], np.ndarray] = field(repr=False, compare=False)
    undefined: str = ""
    needs_probabilities: bool = False
    scorer: str | None = None

    @property
    def higher_is_better(self) -> bool:
        return higher_is_better(self.direction)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is zero."""
    numerator, denominator = np.broadcast_arrays(
        np.asarray(numerator, np.float64), np.asarray(denominator, np.float64)
    )
    out = np.full(denominator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _cells(st: Stats) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    confusion = st["confusion"]
    return confusion[..., 0], confusion[..., 1], confusion[..., 2], confusion[..., 3]


def accuracy(st: Stats) -> np.ndarray:
    if st.design.task == "multiclass":
        return _divide(np.trace(st.confusion(), axis1=-2, axis2=-1), st["n"])
    tn, _, _, tp = _cells(st)
    return _divide(tp + tn, st["n"])


def sensitivity(st: Stats) -> np.ndarray:
    _, _, fn, tp = _cells(st)
    return _divide(tp, tp + fn)


def specificity(st: Stats) -> np.ndarray:
    tn, fp, _, _ = _cells(st)
    return _divide(tn, tn + fp)


def ppv(st: Stats) -> np.ndarray:
    _, fp, _, tp = _cells(st)
    return _divide(tp, tp + fp)


def npv(st: Stats) -> np.ndarray:
    tn, _, fn, _ = _cells(st)
    return _divide(tn, tn + fn)


def balanced_accuracy(st: Stats) -> np.ndarray:
    if st.design.task == "multiclass":
        confusion = st.confusion()
        true = confusion.sum(axis=-1)
        recall = _divide(np.diagonal(confusion, axis1=-2, axis2=-1), true)
        return _present_mean(recall, true > 0)
    return (sensitivity(st) + specificity(st)) / 2


def f1(st: Stats) -> np.ndarray:
    _, fp, fn, tp = _cells(st)
    return _divide(2 * tp, 2 * tp + fp + fn)


def macro_f1(st: Stats) -> np.ndarray:
    """Mean F1 over the classes present among the group's true labels."""
    confusion = st.confusion()
    true = confusion.sum(axis=-1)
    predicted = confusion.sum(axis=-2)
    per_class = _divide(2 * np.diagonal(confusion, axis1=-2, axis2=-1), true + predicted)
    return _present_mean(per_class, true > 0)


def _present_mean(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    return _divide(np.where(present, values, 0.0).sum(axis=-1), present.sum(axis=-1))


def mcc(st: Stats) -> np.ndarray:
    """Matthews correlation; the multiclass form is Gorodkin's R_K (as scikit-learn)."""
    if st.design.task == "binary":
        tn, fp, fn, tp = _cells(st)
        denominator = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
        return _divide(tp * tn - fp * fn, np.sqrt(denominator))
    confusion = st.confusion()
    true = confusion.sum(axis=-1)
    predicted = confusion.sum(axis=-2)
    n = st["n"]
    covariance = np.trace(confusion, axis1=-2, axis2=-1) * n - (true * predicted).sum(axis=-1)
    spread = (n**2 - (true * true).sum(axis=-1)) * (n**2 - (predicted * predicted).sum(axis=-1))
    return _divide(covariance, np.sqrt(spread))


def _kappa(st: Stats, weights: np.ndarray) -> np.ndarray:
    """1 − Σ w·observed / Σ w·expected (Cohen 1960, 1968), expected from the margins."""
    confusion = st.confusion()
    true = confusion.sum(axis=-1)
    predicted = confusion.sum(axis=-2)
    expected = _divide(true[..., :, None] * predicted[..., None, :], st["n"][..., None, None])
    observed_cost = (weights * confusion).sum(axis=(-2, -1))
    expected_cost = np.nan_to_num(weights * expected).sum(axis=(-2, -1))
    return 1 - _divide(observed_cost, expected_cost)


def cohen_kappa(st: Stats) -> np.ndarray:
    k = st.design.n_classes
    return _kappa(st, 1.0 - np.eye(k))


def quadratic_weighted_kappa(st: Stats) -> np.ndarray:
    index = np.arange(st.design.n_classes)
    return _kappa(st, (index[:, None] - index[None, :]).astype(np.float64) ** 2)


def auroc(st: Stats) -> np.ndarray:
    """Area under the ROC curve from Mann-Whitney pair sums, ties counting ½."""
    if st.design.task == "multiclass":
        true = st.confusion().sum(axis=-1)
        n = st["n"][..., None]
        pairs = true * (n - true)
        per_class = np.stack(
            [st.auc(f"class {c}") for c in range(st.design.n_classes)], axis=-1
        )
        area = _divide(per_class, pairs)
        return _present_mean(area, pairs > 0)
    tn, fp, fn, tp = _cells(st)
    return _divide(st.auc("score"), (tp + fn) * (tn + fp))


def auprc(st: Stats) -> np.ndarray:
    tn, fp, fn, tp = _cells(st)
    both = (tp + fn > 0) & (tn + fp > 0)
    return np.where(both, _divide(st.ap("score"), tp + fn), np.nan)


def brier(st: Stats) -> np.ndarray:
    return _divide(st["brier"], st["n"])


def log_loss(st: Stats) -> np.ndarray:
    return _divide(st["log_loss"], st["n"])


def ece(st: Stats) -> np.ndarray:
    """Σ over bins of share × |mean score − positive rate| = Σ |Σ score − Σ label| / n."""
    gap = np.abs(st["ece_score"] - st["ece_positive"]).sum(axis=-1)
    return _divide(gap, st["n"])


def net_benefit(st: Stats) -> np.ndarray:
    """TP/n − FP/n · t/(1 − t) at the decision threshold t (Vickers & Elkin 2006)."""
    _, fp, _, tp = _cells(st)
    t = st.design.threshold
    return _divide(tp - fp * t / (1 - t), st["n"])


def mae(st: Stats) -> np.ndarray:
    return _divide(st["abs_error"], st["n"])


def rmse(st: Stats) -> np.ndarray:
    return np.sqrt(_divide(st["squared_error"], st["n"]))


# Sums of squares below this fraction of the raw (centred) sum are rounding noise: the values
# are constant and variance-based metrics are undefined.
_CONSTANT = 1e-10


def _spread(st: Stats, total: str, square: str) -> np.ndarray:
    n = st["n"]
    spread = st[square] - _divide(st[total] ** 2, n)
    return np.where(spread > _CONSTANT * st[square], spread, 0.0)


def r2(st: Stats) -> np.ndarray:
    return 1 - _divide(st["squared_error"], _spread(st, "y", "yy"))


def pearson(st: Stats) -> np.ndarray:
    covariance = st["yp"] - _divide(st["y"] * st["p"], st["n"])
    return _divide(covariance, np.sqrt(_spread(st, "y", "yy") * _spread(st, "p", "pp")))


_ONE_CLASS = "only one class is present among the true labels"

BUILTIN: tuple[Metric, ...] = (
    Metric("accuracy", "binary", HIGHER, "Share of correct decisions.", accuracy),
    Metric(
        "balanced_accuracy", "binary", HIGHER, "Mean of sensitivity and specificity.",
        balanced_accuracy, "no positive or no negative cases",
    ),
    Metric(
        "sensitivity", "binary", HIGHER, "Share of positive cases decided positive (recall).",
        sensitivity, "no positive cases",
    ),
    Metric(
        "specificity", "binary", HIGHER, "Share of negative cases decided negative.",
        specificity, "no negative cases",
    ),
    Metric(
        "ppv", "binary", HIGHER, "Share of positive decisions that are right (precision).",
        ppv, "no positive decisions",
    ),
    Metric(
        "npv", "binary", HIGHER, "Share of negative decisions that are right.",
        npv, "no negative decisions",
    ),
    Metric(
        "f1", "binary", HIGHER, "Harmonic mean of sensitivity and ppv: 2tp/(2tp+fp+fn).",
        f1, "no positive cases and no positive decisions",
    ),
    Metric(
        "mcc", "binary", HIGHER, "Matthews correlation between labels and decisions.",
        mcc, "a row or column of the confusion matrix is empty",
    ),
    Metric(
        "auroc", "binary", HIGHER, "Area under the ROC curve of the scores.", auroc, _ONE_CLASS
    ),
    Metric(
        "auprc", "binary", HIGHER, "Average precision of the scores (as scikit-learn).",
        auprc, _ONE_CLASS,
    ),
    Metric("brier", "binary", LOWER, "Mean squared difference of score and label.", brier),
    Metric("log_loss", "binary", LOWER, "Mean negative log-likelihood of the labels.", log_loss),
    Metric(
        "ece", "binary", LOWER, "Expected calibration error over 10 equal-width score bins.", ece
    ),
    Metric(
        "net_benefit", "binary", HIGHER,
        "Decision-curve net benefit at the threshold: TP/n − FP/n · t/(1 − t).", net_benefit,
    ),
    Metric("accuracy", "multiclass", HIGHER, "Share of correct labels.", accuracy),
    Metric(
        "balanced_accuracy", "multiclass", HIGHER,
        "Mean recall over the classes present.", balanced_accuracy,
    ),
    Metric("macro_f1", "multiclass", HIGHER, "Mean F1 over the classes present.", macro_f1),
    Metric(
        "mcc", "multiclass", HIGHER, "Matthews correlation (Gorodkin's R_K).", mcc,
        "all true labels or all predicted labels are one class",
    ),
    Metric(
        "cohen_kappa", "multiclass", HIGHER, "Agreement beyond chance (Cohen's kappa).",
        cohen_kappa, "agreement expected by chance is complete",
    ),
    Metric(
        "quadratic_weighted_kappa", "multiclass", HIGHER,
        "Cohen's kappa with quadratic weights over the declared class order.",
        quadratic_weighted_kappa, "agreement expected by chance is complete",
    ),
    Metric(
        "log_loss", "multiclass", LOWER, "Mean negative log-probability of the true class.",
        log_loss, needs_probabilities=True,
    ),
    Metric(
        "auroc", "multiclass", HIGHER, "Macro mean of one-vs-rest ROC areas.", auroc,
        _ONE_CLASS, needs_probabilities=True,
    ),
    Metric("mae", "regression", LOWER, "Mean absolute error.", mae),
    Metric("rmse", "regression", LOWER, "Root mean squared error.", rmse),
    Metric(
        "r2", "regression", HIGHER, "Coefficient of determination.", r2,
        "all true values are equal",
    ),
    Metric(
        "pearson", "regression", HIGHER, "Pearson correlation of predicted and true values.",
        pearson, "all true values or all predicted values are equal",
    ),
)
