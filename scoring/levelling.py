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
from scoring.io import Predictions, Truth
from scoring.registry import check_metrics, get_metric
from scoring.result import SplitResult
from scoring.tallies import resample_counts


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
    margin: float, floor: float | None,
) -> dict:
    """One metric of one entry against the reference (the module's definitions)."""
    shared = sorted(set(entry) & set(reference))
    v = {g: entry[g] for g in shared}
    r = {g: reference[g] for g in shared}
    sign = 1.0 if higher_is_better else -1.0
    levelled = None
    if _gap(v) is not None and _gap(r) is not None:
        best_v, best_r = max(sign * x for x in v.values()), max(sign * x for x in r.values())
        worst_v, worst_r = min(sign * x for x in v.values()), min(sign * x for x in r.values())
        levelled = (_gap(v) < _gap(r) - margin and best_v < best_r - margin
                    and worst_v <= worst_r + margin)
    meets = None
    if floor is not None and entry:
        meets = all(sign * value >= sign * floor for value in entry.values())
    return {
        "groups": dict(sorted(entry.items())),
        "gap": _gap(entry),
        "reference_groups": r,
        "reference_gap": _gap(r),
        "change": {g: v[g] - r[g] for g in shared},
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
    lower, upper = percentile_intervals(draws) if shared else (np.array([]), np.array([]))
    return {
        group: {"change": base_v[group] - base_r[group],
                "lower": None if math.isnan(lower[j]) else float(lower[j]),
                "upper": None if math.isnan(upper[j]) else float(upper[j])}
        for j, group in enumerate(shared)
    }
