"""Compute cost of submissions: energy and CO2e from their fact sheets, and score against cost.

The estimate is ``scoring.carbon.estimate_cost`` (constants and citation there and in
docs/metrics.md) with the grid intensity the organiser set for the phase (else the
challenge). Reads only; the fact sheet is written with the submission
(``services.submission_create``).
"""

from __future__ import annotations

from collections.abc import Iterable

from competitions.models import FactSheet
from scoring import carbon


def submission_has_costs(phase_id: int, submission_ids: Iterable[int]) -> bool:
    """Whether any of these submissions of the phase declared compute (``submission_costs``
    would hold it): a paginated table shows its cost column on every page alike. One query,
    over the phase's fact sheets (few) rather than an ``IN`` list of every row's submission."""
    declared = set(FactSheet.objects.filter(submission__phase_id=phase_id, hardware__gt="")
                   .values_list("submission_id", flat=True))
    return bool(declared) and not declared.isdisjoint(submission_ids)


def submission_costs(submission_ids: Iterable[int]) -> dict[int, dict[str, float | None]]:
    """``{id: {"energy_kwh", "co2e_kg", "compute_hours"}}`` for submissions that declared compute.

    ``compute_hours`` are device-hours (training + inference); ``co2e_kg`` is None when neither
    the phase nor the challenge has a grid intensity, and both estimates are None for "other"
    hardware. Submissions without a fact sheet, or whose
    fact sheet gives no compute, are absent. One query.
    """
    sheets = FactSheet.objects.filter(
        submission_id__in=list(submission_ids), hardware__gt=""
    ).select_related("submission__phase__challenge")
    costs = {}
    for sheet in sheets:
        if sheet.hardware == carbon.OTHER_HARDWARE:
            # Hours declared on hardware without a rated power: no energy to estimate.
            costs[sheet.submission_id] = {"energy_kwh": None, "co2e_kg": None,
                                          "compute_hours": sheet.compute_hours}
            continue
        intensity = sheet.submission.phase.effective_grid_intensity
        estimate = carbon.estimate_cost(
            carbon.FactSheet(
                training_hours=sheet.training_hours,
                inference_hours=sheet.inference_hours,
                hardware=sheet.hardware,
                devices=sheet.devices,
            ),
            grid_intensity_g_per_kwh=0.0 if intensity is None else intensity,
        )
        costs[sheet.submission_id] = {
            "energy_kwh": estimate.energy_kwh,
            "co2e_kg": None if intensity is None else estimate.co2e_kg,
            "compute_hours": sheet.compute_hours,
        }
    return costs
