"""The web app's view of the scoring core's metric registry (ids, directions, descriptions), and
what the pages say about the metrics they show: where each is explained (the glossary), which
depend on the decision threshold, and which estimates can lie outside their own interval."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

from scoring import registry
from scoring.vocabulary import (
    CLASS_LABELS,
    DECISIONS,
    PER_CASE,
    PROBABILITIES,
    SCORES,
    VALUES,
)

# What a metric reads from a submission (scoring's ``Metric.uses``), as the glossary says it.
USES_LABELS = {
    DECISIONS: _("the decisions: the entry's own labels, else score ≥ the phase's threshold"),
    SCORES: _("the scores"),
    CLASS_LABELS: _("the predicted classes"),
    PROBABILITIES: _("the class probabilities"),
    VALUES: _("the predicted values"),
    PER_CASE: _("a per-case value from a scorer"),
}


def metric_higher_is_better(metric_id: str, task: str) -> bool:
    return registry.get_metric(metric_id, task).higher_is_better


def metric_choices(task: str) -> list[tuple[str, str]]:
    """(id, label) pairs for an admin select: organisers pick, they never type a metric id."""
    return [(m.id, f"{m.id} — {m.description}") for m in registry.metrics_for(task)]


def glossary_anchor(metric_id: str, task: str) -> str:
    """The glossary entry's HTML id: per task, as ``accuracy`` means one thing for binary
    decisions and another for multiclass labels."""
    return f"metric-{task}-{metric_id}"


def metric_notes(column_ids: Iterable[str], task: str) -> dict[str, list[str]]:
    """What a page showing these metrics (or column ids, ``sensitivity@sex=female``) must say
    about them: ``decisions``, the metrics whose value depends on the decision threshold (shown
    with it), and ``biased``, those whose estimate is biased, so that its value can lie outside
    its own bootstrap percentile interval (shown with a note). Each id once, in the registry's
    order (a stored result's keys come back reordered from PostgreSQL's jsonb); ids the
    registry does not know are left out."""
    wanted = {c.partition("@")[0] for c in column_ids}
    metrics = [metric for metric in registry.metrics_for(task) if metric.id in wanted]
    return {"decisions": [m.id for m in metrics if m.uses_decisions],
            "biased": [m.id for m in metrics if m.biased_estimate]}


def outside_interval(cell: dict) -> bool:
    """Whether a shown value lies outside its own shown interval (both released)."""
    value, ci = cell.get("value"), cell.get("ci")
    return value is not None and bool(ci) and not ci[0] <= value <= ci[1]
