"""Energy and CO2e estimates from fact sheets, and the score/compute Pareto front."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.carbon import HARDWARE_POWER_W, FactSheet, estimate_cost, pareto_front
from scoring.errors import InputError


def test_energy_and_co2e_follow_power_times_hours_times_grid_intensity():
    # 2 x A100 SXM4 (400 W) for 10 h training + 2 h inference = 9.6 kWh; with PUE 1.5,
    # 14.4 kWh; at 300 gCO2e/kWh, 4.32 kg.
    sheet = FactSheet(training_hours=10, inference_hours=2, hardware="nvidia-a100-sxm4", devices=2)

    cost = estimate_cost(sheet, grid_intensity_g_per_kwh=300, pue=1.5)

    assert cost.energy_kwh == pytest.approx(14.4, abs=1e-12)
    assert cost.co2e_kg == pytest.approx(4.32, abs=1e-12)


def test_a_t4_hour_on_a_coal_heavy_grid_matches_the_published_tdp():
    cost = estimate_cost(
        FactSheet(training_hours=1, inference_hours=0, hardware="nvidia-t4"),
        grid_intensity_g_per_kwh=820,
    )

    assert HARDWARE_POWER_W["nvidia-t4"] == 70
    assert cost.energy_kwh == pytest.approx(0.07, abs=1e-12)
    assert cost.co2e_kg == pytest.approx(0.0574, abs=1e-12)


def test_a_fact_sheet_with_every_mistake_lists_them_all():
    sheet = FactSheet(training_hours=-1, inference_hours=math.nan, hardware="abacus", devices=0)

    with pytest.raises(InputError) as error:
        estimate_cost(sheet, grid_intensity_g_per_kwh=-5, pue=0.5)

    assert len(error.value.problems) == 6
    assert "unknown hardware type 'abacus'" in error.value.problems[0]


def test_the_pareto_front_keeps_cheaper_or_better_entries_cheapest_first():
    costs = [1.0, 2.0, 2.0, 3.0, 0.5, None, 4.0]
    scores = [0.70, 0.80, 0.75, 0.80, 0.60, 0.99, 0.90]

    # 2 loses to 1 (same cost, worse); 3 loses to 1 (dearer, same score); 5 has no cost.
    assert pareto_front(costs, scores) == [4, 0, 1, 6]
    # Lower is better (an error rate): 4 is cheapest and best.
    assert pareto_front(costs, scores, higher_is_better=False) == [4]


def dominated(i, costs, scores):
    return any(
        costs[j] <= costs[i]
        and scores[j] >= scores[i]
        and (costs[j], scores[j]) != (costs[i], scores[i])
        for j in range(len(costs))
    )


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 5)),
        max_size=12,
    )
)
def test_the_pareto_front_is_exactly_the_undominated_points(points):
    costs = [float(cost) for cost, _ in points]
    scores = [float(score) for _, score in points]

    front = pareto_front(costs, scores)

    assert sorted(front) == [i for i in range(len(points)) if not dominated(i, costs, scores)]
    assert [costs[i] for i in front] == sorted(costs[i] for i in front)
