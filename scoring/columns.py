"""Leaderboard columns: a metric on a population, named by a stable id (issue 5).

A column id is the metric id from the registry, optionally followed by a population:

* ``auroc`` — all cases;
* ``sensitivity@sex=female`` — the cases of one group of an attribute;
* ``sensitivity@worst(sex)`` — each entry's worst value over the attribute's groups (the lowest
  for a metric where higher is better, the highest otherwise), over the groups that are not
  small and where the metric is defined.

The metric's direction comes from the registry, so an organiser never sets it by hand.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from scoring.errors import InputError
from scoring.metrics import BUILTIN, Metric

# Metrics a leaderboard column can hold: the engine's built-in binary metrics (sums and score
# sweeps that scoring.weighted_stats computes for a whole field at once).
COLUMN_METRICS: dict[str, Metric] = {m.id: m for m in BUILTIN if m.task == "binary"}

_WORST = re.compile(r"worst\((?P<attribute>[^()=]+)\)")


@dataclass(frozen=True)
class Column:
    """A parsed column id. ``attribute``/``group`` are None for all cases; ``worst`` is True for
    ``@worst(attribute)`` (then ``group`` is None)."""

    id: str
    metric: str
    higher_is_better: bool
    attribute: str | None = None
    group: str | None = None
    worst: bool = False

    @property
    def label(self) -> str:
        """Plain words for the population, for tables and explanations."""
        if self.attribute is None:
            return f"{self.metric} (all cases)"
        if self.worst:
            return f"{self.metric} (worst group of {self.attribute})"
        return f"{self.metric} ({self.attribute} = {self.group})"


def parse_column(
    column_id: str,
    attributes: Collection[str] | None = None,
    metrics: Mapping[str, Metric] | None = None,
) -> Column:
    """Parse ``metric``, ``metric@attribute=group`` or ``metric@worst(attribute)``.

    With ``attributes`` (the attribute columns of the ground truth) the attribute is checked too.
    ``metrics`` are the metrics a column may hold (default ``COLUMN_METRICS``, those the field
    computation supports; the web app's stored-result columns allow every metric of the task).
    Raises :class:`InputError` with a message an organiser can act on; whether a named group
    exists is checked where the data are known (:func:`scoring.leaderboard.compute_leaderboard`).
    """
    allowed = COLUMN_METRICS if metrics is None else metrics
    text = column_id.strip()
    metric, sep, population = text.partition("@")
    if metric not in allowed:
        raise InputError(
            f"column {column_id!r}: unknown metric {metric!r}; leaderboard columns can use "
            + ", ".join(allowed)
        )
    direction = allowed[metric].higher_is_better
    if not sep:
        return Column(id=text, metric=metric, higher_is_better=direction)
    worst = _WORST.fullmatch(population.strip())
    if worst:
        column = Column(id=text, metric=metric, higher_is_better=direction,
                        attribute=worst["attribute"].strip(), worst=True)
    else:
        attribute, equals, group = population.partition("=")
        if not equals or not attribute.strip() or not group.strip():
            raise InputError(
                f"column {column_id!r}: after '@' write attribute=group (e.g. sex=female) or "
                "worst(attribute) (e.g. worst(sex))"
            )
        column = Column(id=text, metric=metric, higher_is_better=direction,
                        attribute=attribute.strip(), group=group.strip())
    if attributes is not None and column.attribute not in attributes:
        raise InputError(
            f"column {column_id!r}: unknown attribute {column.attribute!r}; the ground truth has "
            + (", ".join(attributes) or "no attribute columns")
        )
    return column
