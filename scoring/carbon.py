"""Compute cost of a submission: energy and CO2e from its fact sheet; the score/cost Pareto front.

The estimate follows the Machine Learning Emissions Calculator (Lacoste, Luccioni, Schmidt and
Dandres 2019, "Quantifying the Carbon Emissions of Machine Learning", arXiv:1910.09700):

    energy (kWh) = power of the hardware (W) x devices x hours / 1000 x PUE
    CO2e (kg)    = energy (kWh) x grid intensity (gCO2e/kWh) / 1000

It is an upper-bound style estimate: the hardware is assumed to draw its thermal design power
(TDP) for every reported hour; memory, storage and networking are ignored. The power-usage
effectiveness (PUE, datacentre overhead) defaults to 1.0, i.e. none.

The grid intensity is set by the organiser (it depends on where and when the compute ran);
there is deliberately no default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scoring.errors import InputError

# Power per device in watts: the TDP column of the ML Emissions Calculator's hardware table
# (github.com/mlco2/impact, data/gpus.csv), itself taken from the manufacturers' data sheets and
# techpowerup.com. The TPU figures there are measured average draw (Patterson et al. 2021), not
# TDP. Keys are what a fact sheet's "hardware type" holds.
HARDWARE_POWER_W: dict[str, float] = {
    "nvidia-a100-pcie": 250.0,
    "nvidia-a100-sxm4": 400.0,
    "nvidia-v100-pcie": 300.0,
    "nvidia-v100-sxm2-32gb": 300.0,
    "nvidia-p100": 250.0,
    "nvidia-t4": 70.0,
    "nvidia-k80": 300.0,
    "nvidia-rtx-2080-ti": 250.0,
    "nvidia-rtx-3090": 350.0,
    "nvidia-rtx-a6000": 300.0,
    "google-tpu-v3": 283.0,
    "intel-xeon-gold-6148": 150.0,
    "amd-epyc-7763": 280.0,
    # A laptop's or a desktop's processor, for entries trained without an accelerator: Intel's
    # processor base power (ark.intel.com) of a typical 2022 laptop chip (Core i7-1260P, 28 W)
    # and desktop chip (Core i5-12400, 65 W).
    "cpu-laptop": 28.0,
    "cpu-desktop": 65.0,
}
# Hardware the table has no power for: the hours are declared, the energy is not estimated.
OTHER_HARDWARE = "other"


@dataclass(frozen=True)
class FactSheet:
    """What a team declares about its method and the compute it used.

    Hours are wall-clock hours on ``devices`` units of ``hardware`` (a key of
    ``HARDWARE_POWER_W``); inference covers predicting the challenge's test cases.
    """

    training_hours: float
    inference_hours: float
    hardware: str
    devices: int = 1
    method_summary: str = ""
    external_data: str = ""


@dataclass(frozen=True)
class ComputeCost:
    """Estimated energy in kWh and emissions in kg CO2-equivalent."""

    energy_kwh: float
    co2e_kg: float


def estimate_cost(
    fact_sheet: FactSheet, *, grid_intensity_g_per_kwh: float, pue: float = 1.0
) -> ComputeCost:
    """Energy and CO2e of training plus inference (formula in the module docstring).

    Raises :class:`InputError` for an unknown hardware type, negative hours, fewer than one
    device, a negative grid intensity or a PUE below 1.
    """
    problems = []
    if fact_sheet.hardware not in HARDWARE_POWER_W:
        known = ", ".join(sorted(HARDWARE_POWER_W))
        problems.append(f"unknown hardware type {fact_sheet.hardware!r} (known: {known})")
    for name in ("training_hours", "inference_hours"):
        hours = getattr(fact_sheet, name)
        if not np.isfinite(hours) or hours < 0:
            problems.append(f"{name.replace('_', ' ')} must be a number of hours >= 0")
    if fact_sheet.devices < 1:
        problems.append("the number of devices must be at least 1")
    if not np.isfinite(grid_intensity_g_per_kwh) or grid_intensity_g_per_kwh < 0:
        problems.append("the grid intensity must be >= 0 gCO2e/kWh")
    if not np.isfinite(pue) or pue < 1:
        problems.append("the PUE must be at least 1")
    if problems:
        raise InputError(problems)
    hours = fact_sheet.training_hours + fact_sheet.inference_hours
    energy_kwh = HARDWARE_POWER_W[fact_sheet.hardware] * fact_sheet.devices * hours / 1000 * pue
    return ComputeCost(energy_kwh, energy_kwh * grid_intensity_g_per_kwh / 1000)


def pareto_front(
    costs: Sequence[float | None],
    scores: Sequence[float | None],
    *,
    higher_is_better: bool = True,
) -> list[int]:
    """Indices of the entries no other entry beats on both cost and score, cheapest first.

    An entry is dominated when another costs no more and scores at least as well, strictly
    better on one of the two. Entries with an undefined (None or NaN) cost or score are left
    out. Identical points are all on the front.
    """
    if len(costs) != len(scores):
        raise ValueError(f"{len(costs)} costs for {len(scores)} scores")
    sign = 1.0 if higher_is_better else -1.0
    points = [
        (float(cost), sign * float(score), i)
        for i, (cost, score) in enumerate(zip(costs, scores, strict=True))
        if cost is not None and score is not None and not np.isnan(cost) and not np.isnan(score)
    ]
    # Cheapest first and, at equal cost, best first: a point is on the front exactly when it
    # scores at least as well as every point before it, and strictly better than every point
    # before it that costs less.
    points.sort(key=lambda point: (point[0], -point[1], point[2]))
    front: list[int] = []
    best_cheaper = -np.inf  # best score among strictly cheaper points
    best_so_far = -np.inf
    previous_cost = None
    for cost, score, index in points:
        if cost != previous_cost:
            best_cheaper = best_so_far
            previous_cost = cost
        if score > best_cheaper and score >= best_so_far:
            front.append(index)
        best_so_far = max(best_so_far, score)
    return front
