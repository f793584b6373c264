"""Similarity and ensembles of a field of submissions as read by the scoring engine (issue 6).

The JSON-ready documents of ``python -m scoring similarity`` and ``python -m scoring ensemble``;
the web app's tasks call the same functions. The arithmetic lives in ``scoring.similarity`` and
``scoring.ensemble`` (plain arrays); this module stacks the engine's ``Predictions`` into those
arrays and scores the ensembles with ``scoring.evaluate`` so that they carry exactly the
metrics, groups and small-group rule of a real submission. Binary tasks only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from scoring.ensemble import field_ensembles, gain_over_best
from scoring.error_costs import UNIT_COSTS, ErrorCosts
from scoring.errors import InputError
from scoring.evaluate import evaluate
from scoring.io import Predictions, Truth
from scoring.registry import get_metric
from scoring.result import GroupResult, SplitResult
from scoring.similarity import similarity_report


def stack_field(
    truth: Truth, predictions: Sequence[Predictions], *, threshold: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels (N,), scores (S x N), decisions (S x N)) of binary predictions.

    An entry's decisions are its own 0/1 labels when it gave them, else ``score >= threshold``
    (the engine's rule).
    """
    if truth.task != "binary":
        raise InputError("similarity and ensembles are defined for binary tasks only")
    if not predictions:
        raise InputError("give at least one predictions file")
    if any(p.scores is None for p in predictions):
        raise InputError("every predictions file needs a score column")
    scores = np.vstack([p.scores for p in predictions]).astype(float)
    decisions = np.vstack(
        [p.scores >= threshold if p.labels is None else p.labels for p in predictions]
    ).astype(np.int8)
    return np.asarray(truth.labels), scores, decisions


def _select(
    truth: Truth, predictions: Sequence[Predictions], cases: np.ndarray | None
) -> tuple[Truth, list[Predictions]]:
    """The cases where ``cases`` is true (e.g. the public split); all cases when it is None."""
    if cases is None:
        return truth, list(predictions)
    cases = np.asarray(cases, dtype=bool)
    return truth.subset(cases), [p.subset(cases) for p in predictions]


def _check_attributes(truth: Truth, attributes: Sequence[str]) -> None:
    unknown = [name for name in attributes if name not in truth.attributes]
    if unknown:
        available = ", ".join(truth.attributes) or "none"
        raise InputError(
            f"unknown attributes: {', '.join(unknown)} (the ground truth has: {available})"
        )


def field_similarity(
    names: Sequence[str],
    truth: Truth,
    predictions: Sequence[Predictions],
    *,
    threshold: float = 0.5,
    attributes: Sequence[str] = (),
    cases: np.ndarray | None = None,
) -> dict[str, Any]:
    """``{"entries", "measures", "groups"}``: every pairwise measure, overall and per group.

    See ``scoring.similarity.similarity_report``; groups are the values of each of
    ``attributes`` (missing values form the group ``"unknown"``, as in ``evaluate``). ``cases``
    (boolean, one per ground-truth case) restricts everything to a split.
    """
    _check_attributes(truth, attributes)
    truth, predictions = _select(truth, predictions, cases)
    labels, scores, decisions = stack_field(truth, predictions, threshold=threshold)
    groups = {name: truth.attributes[name] for name in attributes}
    return similarity_report(names, decisions, labels, scores, groups)


def field_ensembles_report(
    names: Sequence[str],
    truth: Truth,
    predictions: Sequence[Predictions],
    *,
    k: int = 3,
    metric: str = "auroc",
    threshold: float = 0.5,
    costs: ErrorCosts = UNIT_COSTS,
    attributes: Sequence[str] | None = None,
    min_group: int = 30,
    cases: np.ndarray | None = None,
    single_metrics: Sequence[Mapping[str, float | None]] | None = None,
) -> dict[str, Any]:
    """``{"ensembles": [...]}`` for ``mean_top<k>``, ``vote_top<k>`` and ``diverse<k>``.

    Each ensemble lists its ``members`` (entry names), its ``metrics`` overall (every metric
    ``evaluate`` reports), its ``worst_group`` on ``metric`` among the groups of ``attributes``
    (default all) that are not suppressed, and its ``gain_over_best``: per metric, how much better
    it is than the best single entry on that metric (positive = better; None where undefined).
    ``cases`` (boolean, one per ground-truth case) restricts everything to a split.
    ``single_metrics`` (per entry, ``{metric: value}`` overall on those cases, e.g. stored
    results) spares scoring every entry again for the gains; a metric it lacks has no gain.
    """
    if k < 1:
        raise InputError("--top-k must be at least 1")
    try:
        primary = get_metric(metric, "binary")
    except KeyError as error:
        raise InputError(str(error.args[0])) from None
    if attributes is not None:
        _check_attributes(truth, attributes)
    truth, predictions = _select(truth, predictions, cases)
    labels, scores, decisions = stack_field(truth, predictions, threshold=threshold)

    def primary_value(_labels: np.ndarray, s: np.ndarray, d: np.ndarray) -> float | None:
        result = evaluate(
            truth,
            Predictions("binary", scores=s, labels=d),
            threshold=threshold,
            costs=costs,
            metrics=[metric],
            attributes=[],
        )
        return result.value(metric)

    def scored(s: np.ndarray, d: np.ndarray) -> SplitResult:
        return evaluate(
            truth,
            Predictions("binary", scores=s, labels=d),
            threshold=threshold,
            costs=costs,
            attributes=attributes,
            min_group=min_group,
        )

    if len(names) != len(predictions):
        raise ValueError(f"{len(names)} names for {len(predictions)} predictions")
    if single_metrics is None:
        single_metrics = [
            _overall_values(scored(scores[i], decisions[i])) for i in range(len(predictions))
        ]
    elif len(single_metrics) != len(predictions):
        raise ValueError(f"{len(single_metrics)} single results for {len(predictions)} entries")
    report = []
    ensembles = field_ensembles(
        labels,
        scores,
        decisions,
        k,
        primary_value,
        higher_is_better=primary.higher_is_better,
        threshold=threshold,
    )
    for ensemble in ensembles:
        result = scored(ensemble.scores, ensemble.decisions)
        overall = _overall_values(result)
        report.append(
            {
                "name": ensemble.name,
                "members": [names[i] for i in ensemble.members],
                "metrics": overall,
                "worst_group": _worst_group(result.groups, metric, primary.higher_is_better),
                "gain_over_best": {
                    name: gain_over_best(
                        value,
                        [single.get(name) for single in single_metrics],
                        higher_is_better=get_metric(name, "binary").higher_is_better,
                    )
                    for name, value in overall.items()
                },
            }
        )
    return {"ensembles": report}


def _overall_values(result: SplitResult) -> dict[str, float | None]:
    return {name: entry.value for name, entry in result.overall.items()}


def _worst_group(
    groups: Sequence[GroupResult], metric: str, higher_is_better: bool
) -> dict[str, Any] | None:
    """The group with the worst defined ``metric`` among those not suppressed (a suppressed
    group's values are withheld from participants); None if there is none."""
    candidates = [
        group for group in groups if not group.suppressed and group.value(metric) is not None
    ]
    if not candidates:
        return None
    sign = 1.0 if higher_is_better else -1.0
    worst = min(candidates, key=lambda group: sign * group.value(metric))
    return {
        "attribute": worst.attribute,
        "group": worst.group,
        "n": worst.n,
        "metrics": {name: entry.value for name, entry in worst.metrics.items()},
    }
