"""Metric definitions: each a formula over tallied statistics, vectorised over groups and
resamples, with the words that explain it. The registry below is the one source of what a metric
means: the glossary page, ``python -m scoring metrics`` and the tables of docs/metrics.md (written
by ``python -m scoring metrics --format markdown``, checked by a test) all read it.

A metric returns NaN where it is undefined (a zero denominator); the caller turns NaN into
``null`` with the metric's ``undefined`` reason. No metric ever reports 0 for "undefined".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from scoring.contributions import Stats
from scoring.vocabulary import (
    CLASS_LABELS,
    DECISIONS,
    HIGHER,
    LOWER,
    PROBABILITIES,
    SCORES,
    VALUES,
    higher_is_better,
)


@dataclass(frozen=True)
class Metric:
    """A metric as organisers choose it: ``id`` is stable API; ``direction`` says whether
    ``higher`` or ``lower`` values are better; ``undefined`` says when it has no value (empty:
    never).

    The explanation, in plain text with `code` in backticks: ``name`` in words, ``formula``
    (the notation is ``NOTATION[task]``), ``sklearn`` how scikit-learn or scipy differ (empty:
    they agree), ``uses`` what it reads from a submission (``vocabulary.METRIC_INPUTS``;
    ``DECISIONS`` depend on the threshold) and ``bias`` why the plug-in estimate is biased,
    empty when it is not noticeably (a biased estimate can lie outside its own percentile
    interval, and the pages say so)."""

    id: str
    task: str
    direction: str
    description: str
    compute: Callable[[Stats], np.ndarray] = field(repr=False, compare=False)
    undefined: str = ""
    needs_probabilities: bool = False
    scorer: str | None = None
    name: str = ""
    formula: str = ""
    sklearn: str = ""
    uses: str = ""
    bias: str = ""

    @property
    def higher_is_better(self) -> bool:
        return higher_is_better(self.direction)

    @property
    def uses_decisions(self) -> bool:
        """Whether the value depends on the decision threshold (binary decisions)."""
        return self.uses == DECISIONS

    @property
    def biased_estimate(self) -> bool:
        return bool(self.bias)


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


def expected_cost(st: Stats) -> np.ndarray:
    """(c_FN·FN + c_FP·FP) / n at the decision threshold, the costs ``st.design.costs``."""
    _, fp, fn, _ = _cells(st)
    costs = st.design.costs
    return _divide(costs.fn * fn + costs.fp * fp, st["n"])


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
_CHANCE = "agreement expected by chance is complete"

# How each task's formulas name their quantities.
NOTATION: dict[str, str] = {
    "binary": "tp, fp, fn, tn are the (weighted) confusion counts of labels against decisions;"
    " n = tp + fp + fn + tn; P = tp + fn, N = tn + fp; t is the threshold. A decision is the"
    " entry's own 0/1 `label` when it gave one, otherwise score ≥ t.",
    "multiclass": "C is the confusion matrix (rows true class, columns predicted class); tₖ and"
    " pₖ its row and column sums; a class is present in a group when tₖ > 0. Classes absent"
    " from a group are left out of that group's macro averages.",
    "regression": "value is the entry's prediction and label the true value of a case; means"
    " are over the group's cases.",
}

_ECE_BIAS = (
    "the plug-in estimate is biased upward, the more so the fewer cases a bin holds: noise in"
    " a bin's positive rate only ever adds to |mean score − positive rate|. A bootstrap"
    " resample repeats cases and adds more of it, so the percentile interval can lie entirely"
    " above the value."
)

BUILTIN: tuple[Metric, ...] = (
    Metric(
        "accuracy", "binary", HIGHER, "Share of correct decisions.", accuracy,
        name="Accuracy", formula="(tp + tn) / n", uses=DECISIONS,
    ),
    Metric(
        "balanced_accuracy", "binary", HIGHER, "Mean of sensitivity and specificity.",
        balanced_accuracy, "no positive or no negative cases",
        name="Balanced accuracy", formula="(sensitivity + specificity) / 2", uses=DECISIONS,
        sklearn="with one class, `balanced_accuracy_score` averages the recall of the class"
        " present (and warns)",
    ),
    Metric(
        "sensitivity", "binary", HIGHER, "Share of positive cases decided positive (recall).",
        sensitivity, "no positive cases",
        name="Sensitivity (recall, true-positive rate)", formula="tp / (tp + fn)",
        uses=DECISIONS, sklearn="`recall_score` returns 0 (zero_division)",
    ),
    Metric(
        "specificity", "binary", HIGHER, "Share of negative cases decided negative.",
        specificity, "no negative cases",
        name="Specificity (true-negative rate)", formula="tn / (tn + fp)", uses=DECISIONS,
        sklearn="`recall_score(pos_label=0)` returns 0",
    ),
    Metric(
        "ppv", "binary", HIGHER, "Share of positive decisions that are right (precision).",
        ppv, "no positive decisions",
        name="Positive predictive value (precision)", formula="tp / (tp + fp)", uses=DECISIONS,
        sklearn="`precision_score` returns 0",
    ),
    Metric(
        "npv", "binary", HIGHER, "Share of negative decisions that are right.",
        npv, "no negative decisions",
        name="Negative predictive value", formula="tn / (tn + fn)", uses=DECISIONS,
        sklearn="`precision_score(pos_label=0)` returns 0",
    ),
    Metric(
        "f1", "binary", HIGHER, "Harmonic mean of sensitivity and ppv: 2tp/(2tp+fp+fn).",
        f1, "no positive cases and no positive decisions",
        name="F1 score", formula="2tp / (2tp + fp + fn)", uses=DECISIONS,
        sklearn="`f1_score` returns 0",
    ),
    Metric(
        "mcc", "binary", HIGHER, "Matthews correlation between labels and decisions.",
        mcc, "a row or column of the confusion matrix is empty",
        name="Matthews correlation coefficient",
        formula="(tp·tn − fp·fn) / √((tp+fp)(tp+fn)(tn+fp)(tn+fn))", uses=DECISIONS,
        sklearn="`matthews_corrcoef` returns 0",
    ),
    Metric(
        "auroc", "binary", HIGHER, "Area under the ROC curve of the scores.", auroc, _ONE_CLASS,
        name="Area under the ROC curve", uses=SCORES,
        formula="Mann-Whitney: share of (positive, negative) pairs where the positive scores"
        " higher, ties counting ½",
        sklearn="`roc_auc_score` raises",
    ),
    Metric(
        "auprc", "binary", HIGHER, "Average precision of the scores (as scikit-learn).",
        auprc, _ONE_CLASS,
        name="Area under the precision-recall curve (average precision)", uses=SCORES,
        formula="average precision Σₖ (Rₖ − Rₖ₋₁) Pₖ over distinct score thresholds, highest"
        " first (as `average_precision_score`, no interpolation)",
        sklearn="with no negatives scikit-learn returns 1; with no positives it warns and"
        " returns 0 (recent versions)",
    ),
    Metric(
        "brier", "binary", LOWER, "Mean squared difference of score and label.", brier,
        name="Brier score", formula="mean of (score − label)²", uses=SCORES,
    ),
    Metric(
        "log_loss", "binary", LOWER, "Mean negative log-likelihood of the labels.", log_loss,
        name="Log loss (cross-entropy)", uses=SCORES,
        formula="mean of −[y·ln s + (1−y)·ln(1−s)], s clipped to [ε, 1−ε], ε = float64 machine"
        " epsilon (as scikit-learn)",
    ),
    Metric(
        "ece", "binary", LOWER, "Expected calibration error over 10 equal-width score bins.", ece,
        name="Expected calibration error", uses=SCORES, bias=_ECE_BIAS,
        formula="10 equal-width bins, a score s in bin min(⌊10s⌋, 9); Σ over bins of bin share"
        " × |mean score − positive rate|",
        sklearn="not in scikit-learn",
    ),
    Metric(
        "net_benefit", "binary", HIGHER,
        "Decision-curve net benefit at the threshold: TP/n − FP/n · t/(1 − t).", net_benefit,
        name="Net benefit (decision curve analysis)", uses=DECISIONS,
        formula="tp/n − fp/n · t/(1 − t) (Vickers & Elkin 2006), from the decisions at the"
        " threshold t, which lies in (0, 1)",
        sklearn="not in scikit-learn",
    ),
    Metric(
        "expected_cost", "binary", LOWER,
        "Mean cost per case of the errors at the threshold, each error weighted by the"
        " phase's costs.", expected_cost,
        name="Expected cost", uses=DECISIONS,
        formula="(c_FN·fn + c_FP·fp) / n, c_FN and c_FP the phase's costs of a false negative"
        " and a false positive (`--costs fn=…,fp=…`; both 1 unless set: then the error rate"
        " 1 − accuracy)",
        sklearn="not in scikit-learn (equal to `c_FN·fn + c_FP·fp` from `confusion_matrix`,"
        " divided by n)",
    ),
    Metric(
        "accuracy", "multiclass", HIGHER, "Share of correct labels.", accuracy,
        name="Accuracy", formula="trace(C) / n", uses=CLASS_LABELS,
    ),
    Metric(
        "balanced_accuracy", "multiclass", HIGHER,
        "Mean recall over the classes present.", balanced_accuracy,
        name="Balanced accuracy", formula="mean over present classes of Cₖₖ / tₖ",
        uses=CLASS_LABELS, sklearn="same (scikit-learn also drops classes absent from y_true)",
    ),
    Metric(
        "macro_f1", "multiclass", HIGHER, "Mean F1 over the classes present.", macro_f1,
        name="Macro F1", formula="mean over present classes of 2Cₖₖ / (tₖ + pₖ)",
        uses=CLASS_LABELS,
        sklearn='`f1_score(average="macro")` also averages classes only predicted, with F1 0;'
        " equal to `labels=<present classes>`",
    ),
    Metric(
        "mcc", "multiclass", HIGHER, "Matthews correlation (Gorodkin's R_K).", mcc,
        "all true labels or all predicted labels are one class",
        name="Matthews correlation coefficient", uses=CLASS_LABELS,
        formula="(n·trace(C) − Σ tₖpₖ) / √((n² − Σ pₖ²)(n² − Σ tₖ²)) (Gorodkin's R_K, as"
        " scikit-learn)",
        sklearn="`matthews_corrcoef` returns 0",
    ),
    Metric(
        "cohen_kappa", "multiclass", HIGHER, "Agreement beyond chance (Cohen's kappa).",
        cohen_kappa, _CHANCE,
        name="Cohen's kappa", uses=CLASS_LABELS,
        formula="1 − Σ wᵢⱼCᵢⱼ / Σ wᵢⱼEᵢⱼ, E = t pᵀ / n, wᵢⱼ = [i ≠ j]",
        sklearn="`cohen_kappa_score` returns NaN (the default `replace_undefined_by`)",
    ),
    Metric(
        "quadratic_weighted_kappa", "multiclass", HIGHER,
        "Cohen's kappa with quadratic weights over the declared class order.",
        quadratic_weighted_kappa, _CHANCE,
        name="Quadratic weighted kappa", uses=CLASS_LABELS,
        formula="1 − Σ wᵢⱼCᵢⱼ / Σ wᵢⱼEᵢⱼ, E = t pᵀ / n, wᵢⱼ = (i − j)² over the declared class"
        " order",
        sklearn='same as `cohen_kappa_score(weights="quadratic", labels=<class order>)`',
    ),
    Metric(
        "log_loss", "multiclass", LOWER, "Mean negative log-probability of the true class.",
        log_loss, needs_probabilities=True,
        name="Log loss (cross-entropy)", uses=PROBABILITIES,
        formula="mean of −ln p(true class), clipped to [ε, 1−ε]; needs `p_<class>` columns",
    ),
    Metric(
        "auroc", "multiclass", HIGHER, "Macro mean of one-vs-rest ROC areas.", auroc,
        _ONE_CLASS, needs_probabilities=True,
        name="Area under the ROC curve (one-vs-rest, macro)", uses=PROBABILITIES,
        formula="mean over present classes k that are not the only class of the one-vs-rest"
        " AUROC of `p_k`",
        sklearn='`roc_auc_score(multi_class="ovr")` raises unless every class is present',
    ),
    Metric(
        "mae", "regression", LOWER, "Mean absolute error.", mae,
        name="Mean absolute error", formula="mean |value − label|", uses=VALUES,
    ),
    Metric(
        "rmse", "regression", LOWER, "Root mean squared error.", rmse,
        name="Root mean squared error", formula="√(mean (value − label)²)", uses=VALUES,
    ),
    Metric(
        "r2", "regression", HIGHER, "Coefficient of determination.", r2,
        "all true values are equal",
        name="Coefficient of determination (R²)", uses=VALUES,
        formula="1 − Σ(value − label)² / Σ(label − mean label)²",
        sklearn="`r2_score` returns 1.0 (perfect) or 0.0",
    ),
    Metric(
        "pearson", "regression", HIGHER, "Pearson correlation of predicted and true values.",
        pearson, "all true values or all predicted values are equal",
        name="Pearson correlation", formula="Pearson correlation of value and label",
        uses=VALUES, sklearn="`scipy.stats.pearsonr` returns NaN and warns",
    ),
)
