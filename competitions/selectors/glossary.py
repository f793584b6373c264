"""The metric glossary: every metric of every task as the scoring registry defines it, the same
source as docs/metrics.md, so the page and the docs cannot say different things."""

from __future__ import annotations

from competitions.metrics import USES_LABELS, glossary_anchor
from competitions.models import Challenge
from scoring.io import TASKS
from scoring.metrics import NOTATION
from scoring.registry import metrics_for


def metric_glossary() -> list[dict]:
    """Per task: its name, the notation of its formulas and its metrics, each with the anchor
    the pages' metric names link to and what it reads from a submission in words."""
    return [
        {"task": task, "label": Challenge.Task(task).label, "notation": NOTATION[task],
         "metrics": [{"metric": metric, "anchor": glossary_anchor(metric.id, task),
                      "uses": USES_LABELS[metric.uses]} for metric in metrics_for(task)]}
        for task in TASKS
    ]
