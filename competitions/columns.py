"""Leaderboard columns: a metric on a population, and its value in a stored scoring result.

A column id is the metric id, optionally with a population: ``auroc`` (every case),
``sensitivity@sex=female`` (one group), ``sensitivity@worst(sex)`` (the attribute's worst group
that is not small, as the submission page's fairness summary names it). Values come from the
result the worker stored for the submission (``scoring.evaluate`` per split), so the leaderboard
shows exactly the numbers, intervals and small-group flags of the submission page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from scoring import columns, registry
from scoring.columns import Column
from scoring.errors import InputError
from scoring.result import MetricValue, SplitResult


def parse_column(column_id: str, task: str, attributes: Sequence[str] | None = None) -> Column:
    """The column ``column_id`` means, for any metric of the challenge's task, checked against
    the ground truth's attributes when given; a ``ValidationError`` an organiser understands
    otherwise."""
    try:
        return columns.parse_column(
            column_id, attributes, {m.id: m for m in registry.metrics_for(task)}
        )
    except InputError as exc:
        raise ValidationError(exc.problems) from exc


def stored_split(result: SplitResult | Mapping | None) -> SplitResult | None:
    """A split's stored result as the typed object ``scoring.evaluate`` returned (``None`` for
    a split the submission has no result on)."""
    if result is None or isinstance(result, SplitResult):
        return result
    return SplitResult.from_dict(result)


def column_value(result: SplitResult | Mapping | None, column: Column) -> dict:
    """``{"value", "ci", "n", "small", "suppressed", "group"}`` of ``column`` in one split's
    stored result (``suppressed``: the group is withheld from participants, small or hidden
    with a small one; ``scoring.suppression``).

    ``value`` is ``None`` where the metric is undefined there (no positives in the group, a group
    the split lacks, fewer than two groups that are not suppressed for a worst group);
    ``reason`` says which. The cell is a plain dict: the snapshot stores it as JSON, the release
    step reads it.
    """
    result = stored_split(result)
    if result is None:
        return _cell(None, group=None, n=None)
    if column.attribute is None:
        return _cell(result.metric(column.metric), group=None, n=result.n_cases)
    group = column.group
    if column.worst:
        summary = result.fairness_of(column.metric, column.attribute)
        group = summary.worst_group if summary else None
        if group is None:
            reason = (summary.reason if summary else None) or _("no groups")
            return {"value": None, "ci": None, "n": None, "small": False, "suppressed": False,
                    "group": None, "reason": reason}
    found = result.group(column.attribute, group)
    if found is not None:
        return _cell(found.metric(column.metric), group=group, n=found.n, small=found.small,
                     suppressed=found.suppressed)
    return {"value": None, "ci": None, "n": 0, "small": False, "suppressed": False,
            "group": group, "reason": _("no cases in this group")}


def group_cells(result: SplitResult | Mapping | None, metric: str) -> dict[str, dict]:
    """``{"attribute=group": cell}`` of one metric on every group of a split's stored result, for
    the leaderboard's "show an attribute's groups as columns" selector."""
    result = stored_split(result)
    return {
        f"{item.attribute}={item.group}": _cell(
            item.metric(metric), group=item.group, n=item.n, small=item.small,
            suppressed=item.suppressed,
        )
        for item in (result.groups if result else ())
    }


def _cell(entry: MetricValue | None, *, group: str | None, n: int | None, small: bool = False,
          suppressed: bool = False) -> dict:
    value = entry.value if entry else None
    cell = {"value": value, "ci": list(entry.ci) if entry and entry.ci else None, "n": n,
            "small": small, "suppressed": suppressed, "group": group}
    if value is None:
        cell["reason"] = (entry.reason if entry else None) or _("not computed")
    return cell
