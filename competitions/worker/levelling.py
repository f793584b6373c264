"""Levelling-down flags and floor checks of a board's entries, computed with its snapshot.

For every ranked metric of the board (and every metric the phase sets a floor for) and every
attribute of the ground truth, each counting entry is compared group by group with the phase's
reference entry (``scoring.levelling.metric_comparison``: the gap, the change per group,
whether it levelled down, whether it meets the floor). Cheap: it reads the stored results the
snapshot reads anyway, no bootstrap — the paired intervals of the entry page are computed for
one entry when it is looked at (``competitions.selectors.levelling``).

Only the groups participants may see take part (not small, not hidden with a small one), for
everyone, as in the fairness summaries: no flag can carry what a withheld group's value is.
And the flags are decided on the values as released (rounded to the phase's
``release_decimals``, ``competitions.release``), for everyone: a flag decided on the exact
values would say on which side of a floor, or of the reference plus the margin, a value shown
as 0.700 lies — one bit beyond the digits shown per flag, which an attacker steers by
submitting near the floor. Decided on the shown digits, a flag is a function of what the page
already shows.

The reference is the phase's baseline submission (its stored result), or its uploaded file,
scored here once with the phase's settings (``phase_evaluate``) and kept on the phase until the
file, the ground truth or a scoring setting changes (``services.levelling``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from django.conf import settings

from competitions.boards import ranked_column_specs
from competitions.case_results import phase_truth
from competitions.columns import stored_split
from competitions.models import Leaderboard, Phase, Submission
from competitions.worker.counting import Counted
from competitions.worker.evaluation import phase_evaluate
from scoring.errors import InputError
from scoring.io import read_predictions
from scoring.levelling import metric_comparison
from scoring.registry import get_metric
from scoring.result import SplitResult

logger = logging.getLogger(__name__)

# What a snapshot row keeps of each comparison (scoring.levelling.metric_comparison).
_KEPT = ("groups", "gap", "levelled_down", "meets_floor")


@dataclass
class FieldLevelling:
    """What ``field_levelling`` adds to a snapshot: ``meets`` (one bool per row, for
    ``floor_then_primary``: an entry whose floor check is undefined does not meet it) and the
    ``summary`` kept with the snapshot (None when the phase has no reference and no floors)."""

    meets: list[bool]
    summary: dict | None = None


def released_group_values(result: SplitResult | None, attribute: str,
                          metric: str, decimals: int) -> dict[str, float]:
    """``metric`` on each group of ``attribute`` that participants may see and where it is
    defined, rounded as participants see it (``decimals``: the phase's release decimals)."""
    values: dict[str, float] = {}
    for group in result.groups if result else ():
        if group.attribute != attribute or group.small or group.suppressed:
            continue
        cell = group.metric(metric)
        if cell is not None and cell.value is not None and math.isfinite(cell.value):
            values[group.group] = round(float(cell.value), decimals)
    return values


def field_levelling(board: Leaderboard, split: str, counted: list[Counted],
                    rows: list[dict]) -> FieldLevelling:
    """Each row's flags (``row["levelling"]``) and the board's summary of them; ``rows`` are
    the snapshot's rows, in the order of ``counted``."""
    phase = board.phase
    floors = dict(phase.floors or {})
    if not floors and not (phase.reference_submission_id or phase.reference_file):
        return FieldLevelling(meets=[False] * len(rows))
    task = phase.challenge.task
    metrics = list(dict.fromkeys([*(spec.metric for spec in ranked_column_specs(board)),
                                  *floors]))
    attributes = list(phase.truth_attributes or [])
    reference, note = _reference_result(phase, split)
    directions = {m: get_metric(m, task).higher_is_better for m in metrics}
    decimals = phase.release_decimals
    base = {m: {a: released_group_values(reference, a, m, decimals) for a in attributes}
            for m in metrics}
    meets = []
    for item, row in zip(counted, rows, strict=True):
        flags = {
            m: {a: metric_comparison(released_group_values(item.result, a, m, decimals),
                                     base[m][a],
                                     higher_is_better=directions[m],
                                     margin=phase.levelling_margin, floor=floors.get(m),
                                     decimals=decimals)
                for a in attributes}
            for m in metrics
        }
        # The reference's values are in the summary, once: a row keeps its own and the flags.
        flags = {m: {a: {**{k: comparison[k] for k in _KEPT},
                         "worst": _worst(comparison["groups"], directions[m])}
                     for a, comparison in by_attribute.items()}
                 for m, by_attribute in flags.items()}
        checks = [flags[m][a]["meets_floor"] for m in floors for a in attributes]
        decided = [check for check in checks if check is not None]
        meets_all = (all(decided) if decided else None) if floors else None
        levelled = [flags[m][a]["levelled_down"] for m in metrics for a in attributes]
        row["levelling"] = {
            "metrics": flags, "meets_floors": meets_all,
            "levelled_down": any(levelled) if any(v is not None for v in levelled) else None,
        }
        meets.append(bool(meets_all))
    label = phase.reference_label or _default_label(phase)
    summary = {
        "reference": label if reference is not None else "", "reference_note": note,
        "reference_submission": phase.reference_submission_id, "floors": floors,
        "margin": phase.levelling_margin, "metrics": metrics, "attributes": attributes,
        "directions": directions,
        "reference_groups": {m: {a: dict(sorted(base[m][a].items())) for a in attributes}
                             for m in metrics},
    }
    return FieldLevelling(meets=meets, summary=summary)


def _worst(groups: dict[str, float], higher_is_better: bool) -> float | None:
    if not groups:
        return None
    return min(groups.values()) if higher_is_better else max(groups.values())


def _default_label(phase: Phase) -> str:
    return "Reference file" if phase.reference_file else "Organisers' baseline"


def _reference_result(phase: Phase, split: str) -> tuple[SplitResult | None, str]:
    """The reference's stored result on ``split`` and, when there is none, why."""
    if phase.reference_submission_id:
        result = (Submission.objects.filter(pk=phase.reference_submission_id,
                                            status=Submission.Status.SCORED)
                  .values_list("result", flat=True).first())
        if not result:
            return None, "The baseline submission is not scored yet."
        return stored_split(result.get(split)), ""
    if not phase.reference_file:
        return None, ""
    if phase.reference_result is None:
        phase.reference_result = _score_reference_file(phase)
        Phase.objects.filter(pk=phase.pk).update(reference_result=phase.reference_result)
    if "error" in phase.reference_result:
        return None, phase.reference_result["error"]
    return stored_split(phase.reference_result.get(split)), ""


def _score_reference_file(phase: Phase) -> dict:
    """The uploaded reference scored as a submission would be, or ``{"error": message}``."""
    truth = phase_truth(phase)
    try:
        with phase.reference_file.open("rb") as handle:
            predictions = read_predictions(handle, truth, task=truth.task,
                                           max_bytes=settings.SUBMISSION_MAX_BYTES)
    except InputError as exc:
        return {"error": "The reference file no longer fits the ground truth: "
                + " ".join(exc.problems)}
    result, _config = phase_evaluate(phase, truth, predictions)
    return result
