"""Leaderboard columns: a metric on a population, and its value in a stored scoring result.

A column id is the metric id, optionally with a population: ``auroc`` (every case),
``sensitivity@sex=female`` (one group), ``sensitivity@worst(sex)`` (the attribute's worst group
that is not small, as the submission page's fairness summary names it). Values come from the
result the worker stored for the submission (``scoring.evaluate`` per split), so the leaderboard
shows exactly the numbers, intervals and small-group flags of the submission page.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from scoring import columns, registry
from scoring.columns import Column
from scoring.errors import InputError


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


def column_value(result: dict | None, column: Column) -> dict:
    """``{"value", "ci", "n", "small", "group"}`` of ``column`` in one split's stored result.

    ``value`` is ``None`` where the metric is undefined there (no positives in the group, a group
    the split lacks, fewer than two groups that are not small for a worst group); ``reason`` says
    which.
    """
    result = result or {}
    if column.attribute is None:
        entry = (result.get("overall") or {}).get(column.metric) or {}
        return _cell(entry, group=None, n=result.get("n_cases"), small=False)
    group = column.group
    if column.worst:
        summary = (result.get("fairness") or {}).get(column.metric, {}).get(column.attribute)
        group = (summary or {}).get("worst_group")
        if group is None:
            reason = (summary or {}).get("reason") or _("no groups")
            return {"value": None, "ci": None, "n": None, "small": False, "group": None,
                    "reason": reason}
    for item in result.get("groups") or ():
        if item["attribute"] == column.attribute and item["group"] == group:
            return _cell(item["metrics"].get(column.metric) or {}, group=group, n=item["n"],
                         small=item["small"])
    return {"value": None, "ci": None, "n": 0, "small": False, "group": group,
            "reason": _("no cases in this group")}


def group_cells(result: dict | None, metric: str) -> dict[str, dict]:
    """``{"attribute=group": cell}`` of one metric on every group of a split's stored result, for
    the leaderboard's "show an attribute's groups as columns" selector."""
    return {
        f"{item['attribute']}={item['group']}": _cell(
            item["metrics"].get(metric) or {}, group=item["group"], n=item["n"],
            small=item["small"],
        )
        for item in (result or {}).get("groups") or ()
    }


def _cell(entry: dict, *, group: str | None, n: int | None, small: bool) -> dict:
    cell = {"value": entry.get("value"), "ci": entry.get("ci"), "n": n, "small": small,
            "group": group}
    if entry.get("value") is None:
        cell["reason"] = entry.get("reason") or _("not computed")
    return cell
