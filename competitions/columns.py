"""Leaderboard columns: a metric on a population, and its value in a stored scoring result.

A column id is the metric id, optionally with a population: ``auroc`` (every case),
``sensitivity@sex=female`` (one group), ``sensitivity@worst(sex)`` (the attribute's worst group
that is not small, as the submission page's fairness summary names it). Values come from the
result the worker stored for the submission (``scoring.evaluate`` per split), so the leaderboard
shows exactly the numbers, intervals and small-group flags of the submission page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from scoring import registry

_COLUMN = re.compile(
    r"^(?P<metric>[^@\s]+)"
    r"(?:@(?:worst\((?P<worst>[^()=@\s]+)\)|(?P<attribute>[^()=@\s]+)=(?P<group>[^@]+)))?$"
)


@dataclass(frozen=True)
class Column:
    id: str
    metric: str
    higher_is_better: bool
    attribute: str | None = None
    group: str | None = None
    worst: bool = False


def parse_column(column_id: str, task: str, attributes: Sequence[str] | None = None) -> Column:
    """The column ``column_id`` means, checked against the metric registry and, when given, the
    ground truth's attributes; a ``ValidationError`` an organiser understands otherwise."""
    match = _COLUMN.match(column_id.strip())
    if match is None:
        raise ValidationError(
            _("“%(id)s” is not a column id: write a metric id, optionally followed by "
              "@attribute=group or @worst(attribute), e.g. sensitivity@worst(sex).")
            % {"id": column_id}
        )
    try:
        metric = registry.get_metric(match["metric"], task)
    except KeyError as exc:
        raise ValidationError(str(exc.args[0])) from exc
    attribute = match["worst"] or match["attribute"]
    if attribute and attributes is not None and attribute not in attributes:
        raise ValidationError(
            _("The ground truth has no attribute “%(attribute)s”; it has: %(known)s.")
            % {"attribute": attribute, "known": ", ".join(attributes) or _("none")}
        )
    return Column(
        id=column_id.strip(),
        metric=metric.id,
        higher_is_better=metric.higher_is_better,
        attribute=attribute,
        group=match["group"],
        worst=bool(match["worst"]),
    )


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
