"""The metric advisor for a phase (organisers only): the fingerprint of its ground truth and
the organiser's answers (``Phase.threshold_given``, ``costs_known``, ``calibration_matters``,
``interest_in_positives``), the scoring core's recommendations (``scoring.advisor``), and the
warnings about the metrics its leaderboards show. Recommendations only: nothing is enforced.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from competitions.case_results import phase_truth
from competitions.models import LeaderboardColumn, Phase
from scoring.advisor import PAPER, Advice, MetricWarning, advise, fingerprint
from scoring.errors import InputError
from scoring.registry import metrics_for


@dataclass(frozen=True)
class BoardWarning:
    """A warning of the advisor and the board columns that show its metric
    (``"Main: ppv@sex=F"``)."""

    warning: MetricWarning
    columns: list[str]


@dataclass(frozen=True)
class PhaseAdvice:
    """``advice`` None with a ``note`` saying why (no ground truth yet, a task the advisor does
    not cover, a ground truth that cannot be read); ``warnings`` the advice's warnings with the
    columns they concern."""

    note: str = ""
    advice: Advice | None = None
    warnings: list[BoardWarning] = field(default_factory=list)
    source: str = PAPER


def phase_metric_advice(phase: Phase) -> PhaseAdvice:
    """What the advisor says about ``phase``'s metrics; never raises for a phase the organiser
    has not finished configuring."""
    if phase.challenge.task != "binary":
        return PhaseAdvice(note=_("The metric advisor covers binary tasks; this challenge's task "
                                  "is %(task)s.") % {"task": phase.challenge.get_task_display()})
    if not phase.ground_truth:
        return PhaseAdvice(note=_("Upload a ground truth to see which metrics suit it: the "
                                  "advisor reads its prevalence and its subgroups'."))
    try:
        truth = phase_truth(phase)
        found = fingerprint(
            truth,
            threshold=phase.threshold if phase.threshold_given else None,
            calibration=phase.calibration_matters,
            costs=phase.error_costs if phase.costs_known else None,
            positives=phase.interest_in_positives,
            min_group=phase.min_group_size,
        )
    except (InputError, OSError) as exc:
        problems = exc.problems if isinstance(exc, InputError) else [str(exc)]
        return PhaseAdvice(note=_("The ground truth could not be read for the advisor: "
                                  "%(problem)s") % {"problem": " ".join(problems)})
    columns: dict[str, list[str]] = {}
    for column in (LeaderboardColumn.objects.filter(leaderboard__phase=phase)
                   .select_related("leaderboard").order_by("leaderboard__order", "order")):
        metric = column.column_id.partition("@")[0]
        columns.setdefault(metric, []).append(f"{column.leaderboard.name}: {column.column_id}")
    # A column whose metric the registry no longer has is the board editor's to report.
    registered = {metric.id for metric in metrics_for("binary")}
    advice = advise(found, [metric for metric in columns if metric in registered])
    return PhaseAdvice(advice=advice, warnings=[
        BoardWarning(warning, columns[warning.metric]) for warning in advice.warnings
    ])
