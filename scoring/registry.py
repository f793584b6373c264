"""Which metrics exist, per task: what the web admin lists and validates organisers'
choices against. Built-in metrics plus two per installed per-case scorer (``.mean`` and
``.median``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scoring import scorers
from scoring.contributions import Stats
from scoring.metrics import BUILTIN, Metric
from scoring.vocabulary import PER_CASE

# What a new phase ranks on unless the organiser picks another: a threshold-free measure for
# binary scores, one that a majority class cannot win for multiclass labels, and the error in
# the outcome's own units for regression.
DEFAULT_METRICS: dict[str, str] = {
    "binary": "auroc",
    "multiclass": "balanced_accuracy",
    "regression": "mae",
}


def _scorer_metrics(item: scorers.Scorer, task: str) -> list[Metric]:
    key = f"case:{item.name}"

    def mean(st: Stats) -> np.ndarray:
        return st[key] / np.where(st["n"] > 0, st["n"], np.nan)

    def median(st: Stats) -> np.ndarray:
        return st.median(key)

    over = {
        "mean": "mean over the cases of the per-case value",
        "median": "median over the cases of the per-case value (an even count: the mean of the"
        " two middle values, as `numpy.median`)",
    }
    return [
        Metric(f"{item.name}.{kind}", task, item.direction, f"{label} of: {item.description}",
               compute, scorer=item.name, name=f"{label} {item.name}",
               formula=f"{over[kind]} of `{item.name}`: {item.description}", uses=PER_CASE)
        for kind, label, compute in (("mean", "Mean", mean), ("median", "Median", median))
    ]


def metrics_for(task: str) -> list[Metric]:
    """Every metric available for ``task`` ("binary", "multiclass", "regression")."""
    found = [metric for metric in BUILTIN if metric.task == task]
    for item in scorers.available().values():
        if task in item.tasks:
            found += _scorer_metrics(item, task)
    return found


def default_metric(task: str) -> str:
    """The metric a new phase of ``task`` ranks on (``DEFAULT_METRICS``)."""
    return DEFAULT_METRICS[task]


def get_metric(metric_id: str, task: str) -> Metric:
    """The metric ``metric_id`` of ``task``; KeyError naming the valid ids if there is none."""
    for metric in metrics_for(task):
        if metric.id == metric_id:
            return metric
    valid = ", ".join(metric.id for metric in metrics_for(task))
    raise KeyError(f"unknown metric {metric_id!r} for {task}; available: {valid}")


def check_metrics(task: str, metric_ids: Sequence[str]) -> list[str]:
    """One problem line per id that is not a metric of ``task`` (empty when all are valid)."""
    valid = {metric.id for metric in metrics_for(task)}
    return [
        f"unknown metric {metric_id!r} for {task}; available: {', '.join(sorted(valid))}"
        for metric_id in metric_ids
        if metric_id not in valid
    ]
