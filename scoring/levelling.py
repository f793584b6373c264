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
from collections.abc import Mapping, Sequence

from scoring.error_costs import UNIT_COSTS, ErrorCosts
from scoring.errors import InputError
from scoring.evaluate import evaluate
from scoring.io import Predictions, Truth
from scoring.registry import check_metrics, get_metric
from scoring.result import SplitResult


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
