"""The web app's view of the scoring core's metric registry (ids, directions, descriptions)."""

from __future__ import annotations

from scoring import registry


def metric_higher_is_better(metric_id: str, task: str) -> bool:
    return registry.get_metric(metric_id, task).higher_is_better


def metric_choices(task: str) -> list[tuple[str, str]]:
    """(id, label) pairs for an admin select: organisers pick, they never type a metric id."""
    return [(m.id, f"{m.id} — {m.description}") for m in registry.metrics_for(task)]
