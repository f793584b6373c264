"""Levelling down against a reference entry, and minimum rates (floors) per group.

Parity gaps (max − min over groups) reward closing a gap by making the better-off worse: a model
that misses every positive case has a sensitivity gap of 0. Following Mittelstadt, Wachter and
Russell (2023, "The Unfairness of Fair Machine Learning: Levelling down and strict
egalitarianism by default"), an entry is compared with a reference entry group by group, and
judged by minimum rates rather than by equality. Definitions (docs/metrics.md, "Levelling
down"), written for a higher-is-better metric and mirrored for the others, where a floor is a
ceiling:

- ``groups``, ``gap`` and ``meets_floor`` use the entry's own groups that are not small
  (n ≥ ``min_group``) and where the metric is defined; ``gap`` = max − min over them (None
  with fewer than 2; it equals ``evaluate``'s fairness ``difference``);
- ``reference_groups``, ``reference_gap``, ``change`` (entry − reference per group) and
  ``levelled_down`` use the groups defined for both;
- ``levelled_down``: gap(v) < gap(r) − margin and max(v) < max(r) − margin and
  min(v) ≤ min(r) + margin — the gap closed because the best-off got worse while the worst-off
  did not get better; None when either gap is None;
- ``meets_floor``: every group's value ≥ the floor; None without a floor or without groups.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from scoring.bootstrap import percentile_intervals, resample_seeds
from scoring.error_costs import UNIT_COSTS, ErrorCosts
from scoring.errors import InputError
from scoring.evaluate import evaluate
from scoring.field_values import FieldMetric
from scoring.io import Predictions, Truth
from scoring.registry import check_metrics, get_metric
from scoring.result import SplitResult
from scoring.tallies import resample_counts

# The values a metric can take, where they are not those of a proportion (0 to 1): a floor
# (or ceiling) outside them could never be met, or always would be.
METRIC_RANGES: dict[str, tuple[float, float]] = {
    "mcc": (-1.0, 1.0),
    "cohen_kappa": (-1.0, 1.0),
    "quadratic_weighted_kappa": (-1.0, 1.0),
    "pearson": (-1.0, 1.0),
    "r2": (-math.inf, 1.0),
    "net_benefit": (-math.inf, 1.0),
    "log_loss": (0.0, math.inf),
    "expected_cost": (0.0, math.inf),
    "mae": (0.0, math.inf),
    "rmse": (0.0, math.inf),
    "absolute_error.mean": (0.0, math.inf),
    "absolute_error.median": (0.0, math.inf),
}


def metric_range(metric: str) -> tuple[float, float]:
    """(lowest, highest) value ``metric`` can take; a proportion's (0, 1) unless listed."""
    return METRIC_RANGES.get(metric, (0.0, 1.0))


def check_floors(task: str, floors: object) -> list[str]:
    """One problem line per bad floor: ``floors`` must map metrics of ``task`` to numbers in
    the metric's range. Empty when every floor is usable. For a lower-is-better metric the
    floor is a ceiling, and the message says so."""
    if not isinstance(floors, Mapping):
        return ['Give the floors as {"metric": value, ...}, e.g. {"sensitivity": 0.5}.']
    problems = check_metrics(task, [str(metric) for metric in floors])
    for metric, value in floors.items():
        if f"{metric!r}" in " ".join(problems):
            continue
        kind = "floor" if get_metric(metric, task).higher_is_better else "ceiling"
        low, high = metric_range(metric)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                value):
            problems.append(f"{metric}: the {kind} must be a number, got {value!r}")
        elif not low <= value <= high:
            problems.append(f"{metric}: the {kind} must lie between {low:g} and {high:g} (the "
                            f"values {metric} can take), got {value:g}")
    return problems


def group_values(result: SplitResult, attribute: str, metric: str) -> dict[str, float]:
    """The metric on each group of ``attribute`` that is not small and where it is defined."""
    values = {}
    for group in result.groups:
        if group.attribute != attribute or group.small:
            continue
        cell = group.metric(metric)
        if cell is not None and cell.value is not None and math.isfinite(cell.value):
            values[group.group] = float(cell.value)
    return values


def _gap(values: Mapping[str, float]) -> float | None:
    return max(values.values()) - min(values.values()) if len(values) >= 2 else None


def metric_comparison(
    entry: Mapping[str, float], reference: Mapping[str, float], *, higher_is_better: bool,
    margin: float, floor: float | None, decimals: int | None = None,
) -> dict:
    """One metric of one entry against the reference (the module's definitions).

    ``decimals``: the values are given rounded to that many decimals (as a platform releases
    them), and the comparisons are made on that grid, in whole units of its last digit, so
    that float noise (0.890 − 0.700 against 0.2 − 0.01) never decides a flag."""
    shared = sorted(set(entry) & set(reference))
    v = {g: entry[g] for g in shared}
    r = {g: reference[g] for g in shared}
    sign = 1.0 if higher_is_better else -1.0
    unit = 1.0 if decimals is None else 10.0 ** decimals

    def scaled(x: float) -> float:
        return x if decimals is None else round(x * unit, 6)

    sv = {g: scaled(x) for g, x in v.items()}
    sr = {g: scaled(x) for g, x in r.items()}
    step = scaled(margin)
    levelled = None
    if _gap(sv) is not None and _gap(sr) is not None:
        best_v, best_r = max(sign * x for x in sv.values()), max(sign * x for x in sr.values())
        worst_v, worst_r = min(sign * x for x in sv.values()), min(sign * x for x in sr.values())
        levelled = (_gap(sv) < _gap(sr) - step and best_v < best_r - step
                    and worst_v <= worst_r + step)
    meets = None
    if floor is not None and entry:
        meets = all(sign * scaled(value) >= sign * scaled(floor) for value in entry.values())

    def shown(x: float | None) -> float | None:
        return x if decimals is None or x is None else round(x, decimals)

    return {
        "groups": dict(sorted(entry.items())),
        "gap": shown(_gap(entry)),
        "reference_groups": r,
        "reference_gap": shown(_gap(r)),
        "change": {g: shown(v[g] - r[g]) for g in shared},
        "levelled_down": levelled,
        "meets_floor": meets,
    }


def levelling_report(
    truth: Truth, entries: Sequence[Predictions], names: Sequence[str], *,
    reference: Predictions, reference_name: str, attribute: str, metrics: Sequence[str],
    threshold: float = 0.5, costs: ErrorCosts = UNIT_COSTS, min_group: int = 30,
    floors: Mapping[str, float] | None = None,
    margin: float = 0.01,
) -> dict:
    """Every entry's groups, gap, change against the reference, levelling-down flag and floor
    check per metric, as ``python -m scoring fairness`` prints it."""
    floors = dict(floors or {})
    if attribute not in truth.attributes:
        raise InputError(f"unknown attribute {attribute!r} (the ground truth has: "
                         f"{', '.join(truth.attributes) or 'none'})")
    unknown = sorted(set(floors) - set(metrics))
    if unknown:
        raise InputError(f"a floor for {', '.join(unknown)}, which is not among --metrics")
    if not math.isfinite(margin) or margin < 0:
        raise InputError("the margin must be a number ≥ 0")
    problems = check_metrics(truth.task, metrics)
    if problems:
        raise InputError(problems)
    directions = {m: get_metric(m, truth.task).higher_is_better for m in metrics}

    def values(predictions: Predictions) -> dict[str, dict[str, float]]:
        result = evaluate(truth, predictions, threshold=threshold, costs=costs,
                          metrics=list(metrics),
                          attributes=[attribute], min_group=min_group)
        return {m: group_values(result, attribute, m) for m in metrics}

    base = values(reference)
    return {
        "attribute": attribute,
        "reference": reference_name,
        "margin": margin,
        "entries": [
            {"name": name, "metrics": {
                m: metric_comparison(mine[m], base[m], higher_is_better=directions[m],
                                     margin=margin, floor=floors.get(m))
                for m in metrics
            }}
            for name, mine in ((n, values(p)) for n, p in zip(names, entries, strict=True))
        ],
    }


def paired_resamples(resamples: int) -> int:
    """B for the change intervals: at least 200, else the phase's resamples (issue 20)."""
    return max(200, int(resamples))


def group_change_intervals(
    truth: Truth, entry: Predictions, reference: Predictions, *, metric: str,
    groups: Mapping[str, np.ndarray], threshold: float = 0.5, costs: ErrorCosts = UNIT_COSTS,
    resamples: int, seed: int,
) -> dict[str, dict[str, float | None]]:
    """``paired_change_intervals`` for a registry metric, all resamples at once.

    ``groups`` maps a group's name to its (N,) bool mask over ``truth``'s cases (the groups
    shown, e.g. those that are not small). Resample ``b`` is the one ``paired_change_intervals``
    and the phase's intervals draw (stream ``b`` of ``resample_seeds(seed, resamples)``), and
    entry and reference are measured on that same resample; a group's metric on a resample
    reads only its cases' weights. Returns {group: {"change", "lower", "upper"}} for the groups
    where both are defined on the full sample.
    """
    field = FieldMetric(get_metric(metric, truth.task), truth, [entry, reference], threshold,
                        costs)
    masks = {group: np.asarray(mask, dtype=np.float32) for group, mask in groups.items()}
    ones = np.ones((1, truth.n), dtype=np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        point = {group: field.values(ones * mask)[0] for group, mask in masks.items()}
        shared = [group for group in masks if np.isfinite(point[group]).all()]
        draws = np.full((resamples, len(shared)), np.nan)
        streams = resample_seeds(seed, resamples)
        step = max(1, 50_000_000 // (4 * max(truth.n, 1)))  # about 50 MB of weights at a time
        for start in range(0, resamples, step):
            chunk = range(start, min(start + step, resamples))
            weights = np.stack([resample_counts(int(streams[b]), truth.n) for b in chunk]
                               ).astype(np.float32)
            for j, group in enumerate(shared):
                values = field.values(weights * masks[group])
                draws[chunk.start:chunk.stop, j] = values[:, 0] - values[:, 1]
    return _change_intervals(
        {group: float(point[group][0] - point[group][1]) for group in shared}, shared, draws)


def _change_intervals(changes: Mapping[str, float], shared: list[str],
                      draws: np.ndarray) -> dict[str, dict[str, float | None]]:
    lower, upper = percentile_intervals(draws) if shared else (np.array([]), np.array([]))
    return {
        group: {"change": changes[group],
                "lower": None if math.isnan(lower[j]) else float(lower[j]),
                "upper": None if math.isnan(upper[j]) else float(upper[j])}
        for j, group in enumerate(shared)
    }


def paired_change_intervals(
    entry: Callable[[np.ndarray], Mapping[str, float]],
    reference: Callable[[np.ndarray], Mapping[str, float]],
    n_cases: int, *, resamples: int, seed: int,
) -> dict[str, dict[str, float | None]]:
    """Paired percentile-bootstrap 95% interval of entry − reference on every group.

    ``entry`` and ``reference`` map case weights (how often each of the ``n_cases`` cases is
    drawn; all ones is the full sample) to the metric per group. Both are evaluated on the same
    resample of the cases (the streams of ``scoring.bootstrap.resample_seeds(seed, B)``, as the
    phase's intervals draw them), so what the two share cancels out of the change. A group
    missing or undefined in a resample drops that resample for it; with fewer than 95% left it
    has no interval (``scoring.bootstrap``). Returns {group: {"change", "lower", "upper"}} on the
    groups defined for both on the full sample.
    """
    full = np.ones(n_cases, dtype=np.int32)
    base_v, base_r = entry(full), reference(full)
    shared = sorted(set(base_v) & set(base_r))
    draws = np.full((resamples, len(shared)), np.nan)
    for b, stream in enumerate(resample_seeds(seed, resamples)):
        counts = resample_counts(int(stream), n_cases)
        v, r = entry(counts), reference(counts)
        for j, group in enumerate(shared):
            if group in v and group in r:
                draws[b, j] = v[group] - r[group]
    return _change_intervals({g: base_v[g] - base_r[g] for g in shared}, shared, draws)
