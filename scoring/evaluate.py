"""Score a submission: every metric overall and per subgroup, with fairness summaries, parity
and bootstrap intervals, as a typed :class:`scoring.result.SplitResult` (its ``to_dict()`` is
the CLI's ``--format json`` output and what the web app stores)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from scoring import scorers, tallies
from scoring.bootstrap import percentile_intervals, resample_seeds
from scoring.contributions import Design, Stats, build_design
from scoring.error_costs import UNIT_COSTS, ErrorCosts
from scoring.errors import InputError
from scoring.fairness import ladder, parity, score_wasserstein, summary
from scoring.groups import Grouping, build_grouping, check_cases, check_selection
from scoring.io import Predictions, Truth
from scoring.metrics import Metric
from scoring.registry import check_metrics, get_metric, metrics_for
from scoring.result import FairnessSummary, GroupResult, MetricValue, Parity, SplitResult
from scoring.suppression import GroupSize, suppressed_groups
from scoring.tallies import point_and_resamples, tally


def evaluate(
    truth: Truth,
    predictions: Predictions,
    *,
    threshold: float = 0.5,
    costs: ErrorCosts = UNIT_COSTS,
    metrics: Sequence[str] | None = None,
    attributes: Sequence[str] | None = None,
    intersections: Sequence[tuple[str, str]] = (),
    bootstrap: int = 0,
    seed: int = 0,
    min_group: int = 30,
    cases: np.ndarray | None = None,
) -> SplitResult:
    """Evaluate ``predictions`` against ``truth``.

    ``metrics`` are metric ids (default: every built-in metric the predictions allow);
    ``attributes`` the attribute columns to split by (default: all); ``intersections`` pairs
    of attributes whose value combinations form groups too; ``bootstrap`` the number of
    resamples for 95% intervals (0: no intervals); ``min_group`` the size below which a group
    is flagged ``small`` (and ``suppressed`` with the groups hidden beside it, see
    :mod:`scoring.suppression`; suppressed groups are left out of fairness summaries and
    parity); ``cases`` an optional boolean
    mask selecting the cases to score (e.g. the public split). ``threshold`` turns binary
    scores into decisions (``score >= threshold``) unless the team gave labels, and is the
    net-benefit threshold; ``costs`` weigh the errors of ``expected_cost``. Raises
    :class:`InputError` for invalid options.
    """
    chosen = _check_options(truth, predictions, threshold, metrics, attributes, intersections,
                            bootstrap, min_group, cases, costs)
    if cases is not None:
        truth, predictions = truth.subset(cases), predictions.subset(cases)
    selected = list(truth.attributes) if attributes is None else list(attributes)
    grouping = build_grouping(
        truth.n, truth.attributes, selected, [tuple(p) for p in intersections],
        truth.attribute_codes,
    )
    design = _design(truth, predictions, threshold, costs, chosen)
    common = {
        "cell": grouping.cell, "cell_group": grouping.cell_group,
        "n_groups": grouping.n_groups, "cols": design.cols, "vals": design.vals,
        "n_stats": design.n_stats,
        "sweeps": design.sweeps, "medians": design.medians,
    }
    intervals: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if bootstrap:
        point, resamples = point_and_resamples(**common, seeds=resample_seeds(seed, bootstrap))
        point_stats, resampled = Stats(point, design), Stats(resamples, design)
        intervals = {
            metric.id: percentile_intervals(metric.compute(resampled)) for metric in chosen
        }
    else:
        point_stats = Stats(tally(**common), design)
    values = {metric.id: metric.compute(point_stats)[0] for metric in chosen}
    sizes = point_stats["n"][0]

    def entry(metric: Metric, group: int) -> MetricValue:
        value = values[metric.id][group]
        if not math.isfinite(value):
            return MetricValue(value=None, reason=metric.undefined or "no cases")
        if not bootstrap:
            return MetricValue(value=float(value))
        low, high = intervals[metric.id][0][group], intervals[metric.id][1][group]
        if math.isfinite(low) and math.isfinite(high):
            return MetricValue(value=float(value), ci=(float(low), float(high)))
        return MetricValue(
            value=float(value), ci_reason="the metric is undefined in over 5% of resamples"
        )

    small = sizes < min_group
    listed = [g for partition in grouping.partitions[1:] for g in partition.groups]
    # Small groups and those hidden with them (secondary suppression): out of the summaries
    # too, or the worst value or the gap would name what the release step withholds.
    hidden = suppressed_groups([
        GroupSize(grouping.attribute[g], grouping.names[g], int(sizes[g]), bool(small[g]))
        for g in listed
    ])
    suppressed = np.zeros(grouping.n_groups, dtype=bool)
    suppressed[[g for g in listed if (grouping.attribute[g], grouping.names[g]) in hidden]] = True
    groups = [
        GroupResult(
            attribute=grouping.attribute[g],
            group=grouping.names[g],
            n=int(sizes[g]),
            small=bool(small[g]),
            metrics={metric.id: entry(metric, g) for metric in chosen},
            suppressed=bool(suppressed[g]),
        )
        for g in listed
    ]

    fairness: dict[str, dict[str, FairnessSummary]] = {}
    for metric in chosen:
        fairness[metric.id] = {}
        for partition in grouping.partitions[1:]:
            kept = [g for g in partition.groups if not suppressed[g]]
            fairness[metric.id][partition.name] = summary(
                values[metric.id][kept], [grouping.names[g] for g in kept],
                metric.higher_is_better,
            )

    return SplitResult(
        task=truth.task,
        n_cases=truth.n,
        threshold=threshold if truth.task == "binary" else None,
        overall={metric.id: entry(metric, 0) for metric in chosen},
        groups=groups,
        fairness=fairness,
        parity=_parity(truth, predictions, threshold, design, grouping, point_stats, suppressed),
    )


def _check_options(truth, predictions, threshold, metrics, attributes, intersections,
                   bootstrap, min_group, cases, costs) -> list[Metric]:
    problems = []
    if predictions.task != truth.task:
        problems.append(
            f"predictions are for {predictions.task}, the ground truth for {truth.task}"
        )
    if truth.task == "binary" and not 0 < threshold < 1:
        problems.append(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    problems += costs.problems()
    if bootstrap < 0:
        problems.append(f"bootstrap must be 0 or a positive number of resamples, got {bootstrap}")
    if min_group < 1:
        problems.append(f"min_group must be at least 1, got {min_group}")
    if metrics is not None:
        problems += check_metrics(truth.task, metrics)
    problems += check_selection(list(truth.attributes), attributes, intersections)
    problems += check_cases(cases, truth.n)
    cases = None if cases is None else np.asarray(cases)
    if problems:
        raise InputError(problems)
    if metrics is None:
        chosen = [
            metric for metric in metrics_for(truth.task)
            if metric.scorer is None
            and (not metric.needs_probabilities or predictions.probabilities is not None)
        ]
    else:
        chosen = [get_metric(metric_id, truth.task) for metric_id in dict.fromkeys(metrics)]
        lacking = [
            m.id for m in chosen if m.needs_probabilities and predictions.probabilities is None
        ]
        if lacking:
            raise InputError(
                f"{', '.join(lacking)} need probability columns p_<class> in the predictions"
            )
    return chosen


def _design(truth: Truth, predictions: Predictions, threshold: float, costs: ErrorCosts,
            chosen: Sequence[Metric]) -> Design:
    installed = scorers.available()
    wanted: dict[str, bool] = {}
    for metric in chosen:
        if metric.scorer is not None:
            wanted[metric.scorer] = wanted.get(metric.scorer, False) or metric.id.endswith(
                ".median"
            )
    case_values = [
        (name, installed[name].values(truth, predictions), median)
        for name, median in wanted.items()
    ]
    return build_design(truth, predictions, threshold=threshold, costs=costs,
                        case_values=case_values)


def _parity(truth: Truth, predictions: Predictions, threshold: float, design: Design,
            grouping: Grouping, stats: Stats, suppressed: np.ndarray) -> dict[str, Parity]:
    result: dict[str, Parity] = {}
    sorted_scores = sorted_cell = steps = None
    if design.scores is not None:
        # Ascending scores; the binary sweep's descending order reversed serves (tied scores
        # may come in any order for the distance). Sorted once for every partition.
        if truth.task == "binary":
            sweep = design.sweeps[0]
            order = sweep.order[::-1]
            sorted_scores = np.ascontiguousarray(sweep.scores[::-1])  # a copy, not a gather
        else:
            order = np.argsort(design.scores, kind="stable")
            sorted_scores = design.scores[order]
        sorted_cell = tallies.narrow(grouping.cell)[order]
        if len(order) < tallies.NUMPY_CASES:
            steps = ladder(sorted_scores)
    kept_groups = [[g for g in partition.groups if not suppressed[g]]
                   for partition in grouping.partitions[1:]]
    distances = (score_wasserstein(sorted_scores, sorted_cell, grouping.cell_group[:, 1:],
                                   kept_groups, steps)
                 if design.scores is not None else [])
    for column, partition in enumerate(grouping.partitions[1:], start=1):
        kept = kept_groups[column - 1]
        entry: dict[str, float | None] = {}
        if truth.task == "binary":
            confusion = stats["confusion"][0][kept]
            tn, fp, fn, tp = confusion.T
            with np.errstate(divide="ignore", invalid="ignore"):
                entry.update(parity(
                    (tp + fp) / (tn + fp + fn + tp),
                    np.where(tp + fn > 0, tp / (tp + fn), np.nan),
                    np.where(tn + fp > 0, fp / (tn + fp), np.nan),
                ))
        if design.scores is not None:
            entry["score_wasserstein"] = distances[column - 1]
        reason = (
            "fewer than two groups that are not suppressed (and with the rate defined)"
            if any(value is None for value in entry.values()) else None
        )
        result[partition.name] = Parity(measures=entry, reason=reason)
    return result

