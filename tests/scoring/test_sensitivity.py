"""The sensitivity panel: the entries ranked under other rules, each ranked column alone and the
median over cases, against rankings counted by hand and Kendall's τ-b from scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import kendalltau, rankdata

from scoring.field import Field
from scoring.leaderboard import compute_leaderboard
from scoring.sensitivity import field_sensitivity, sensitivity_panel


def _tau(a, b) -> float:
    return kendalltau(a, b, variant="b").statistic


def _by(panel, kind, rule=None, column=None):
    return next(v for v in panel.variants if v.kind == kind
                and (rule is None or v.rule == rule) and (column is None or v.column == column))


# a, b, c on auroc (higher is better) and sensitivity (higher is better).
VALUES = np.array([[0.9, 0.5], [0.8, 0.7], [0.7, 0.7]])


def test_mean_rank_official_against_the_other_rules_and_each_column_alone():
    panel = sensitivity_panel(VALUES, [True, True], ["auroc", "sensitivity"], rule="mean_rank")
    # Column ranks: auroc a1 b2 c3; sensitivity b1 c1 a3. Mean: a 2, b 1.5, c 2.
    assert panel.rank.tolist() == [2, 1, 2]
    assert panel.winners == [1]
    assert [(v.kind, v.rule, v.column) for v in panel.variants] == [
        ("rule", "median_rank", None), ("rule", "pareto", None),
        ("column", "primary", "auroc"), ("column", "primary", "sensitivity"),
    ]
    # Pareto: b dominates c; a and b undominated.
    pareto = _by(panel, "rule", "pareto")
    assert pareto.rank.tolist() == [1, 1, 3]
    assert pareto.winners == [0, 1] and pareto.winner_changed
    assert pareto.tau == pytest.approx(_tau([1, 1, 3], [2, 1, 2]), abs=1e-12)
    median = _by(panel, "rule", "median_rank")  # the median of two ranks is their mean
    assert median.rank.tolist() == [2, 1, 2] and median.tau == pytest.approx(1.0)
    assert not median.winner_changed
    auroc = _by(panel, "column", column="auroc")
    assert auroc.rank.tolist() == [1, 2, 3] and auroc.winners == [0] and auroc.winner_changed
    assert auroc.tau == pytest.approx(_tau([1, 2, 3], [2, 1, 2]), abs=1e-12)
    sensitivity = _by(panel, "column", column="sensitivity")
    assert sensitivity.winners == [1, 2] and sensitivity.winner_changed


def test_a_single_ranked_column_gets_no_other_aggregating_rule():
    panel = sensitivity_panel(VALUES[:, :1], [True], ["auroc"], rule="primary")
    assert [(v.kind, v.column, v.tau, v.winner_changed) for v in panel.variants] == [
        ("column", "auroc", 1.0, False)
    ]


# Per-case Brier contributions (lower is better) of a, b, c on four cases.
CASES = np.array([
    [0.0, 0.0, 0.0, 0.9],   # mean 0.225, median 0
    [0.1, 0.1, 0.1, 0.1],   # mean 0.1,   median 0.1
    [0.05, 0.3, 0.05, 0.2],  # mean 0.15,  median 0.125
])


def test_median_aggregation_and_rank_then_aggregate_of_a_per_case_column():
    means = CASES.mean(axis=1, keepdims=True)
    panel = sensitivity_panel(means, [False], ["brier"], rule="primary",
                              case_values={"brier": CASES})
    assert panel.rank.tolist() == [3, 1, 2] and panel.winners == [1]
    # Per-case ranks: a1 c2 b3; a1 b2 c3; a1 c2 b3; b1 c2 a3 -> means a 1.5, b 2.25, c 2.25.
    rta = _by(panel, "rule", "rank_then_aggregate", "brier")
    assert rta.rank.tolist() == [1, 2, 2] and rta.winners == [0] and rta.winner_changed
    assert rta.tau == pytest.approx(-2 / math.sqrt(6), abs=1e-12)
    assert rta.tau == pytest.approx(_tau([1, 2, 2], [3, 1, 2]), abs=1e-12)
    # Medians a 0, b 0.1, c 0.125: a wins; pairs (a,b), (a,c) swap, (b,c) keep -> tau -1/3.
    median = _by(panel, "median")
    assert (median.rule, median.column) == ("primary", "brier")
    assert median.rank.tolist() == [1, 2, 3] and median.winners == [0] and median.winner_changed
    assert median.tau == pytest.approx(-1 / 3, abs=1e-12)
    alone = _by(panel, "column")
    assert alone.tau == pytest.approx(1.0) and not alone.winner_changed


def test_under_rank_then_aggregate_the_median_is_of_the_per_case_ranks():
    means = CASES.mean(axis=1, keepdims=True)
    panel = sensitivity_panel(means, [False], ["brier"], rule="rank_then_aggregate",
                              case_values={"brier": CASES})
    assert panel.rank.tolist() == [1, 2, 2]  # the official rank-then-aggregate, as above
    assert [v.kind for v in panel.variants] == ["column", "median"]
    # Median per-case ranks: a 1, b 2.5, c 2.
    median = _by(panel, "median")
    assert median.rank.tolist() == [1, 3, 2] and not median.winner_changed
    assert median.tau == pytest.approx(_tau([1, 3, 2], [1, 2, 2]), abs=1e-12)
    # The mean Brier score alone puts b first.
    assert _by(panel, "column").winners == [1]


def test_the_median_variant_swaps_one_column_under_an_aggregating_rule():
    values = np.column_stack([CASES.mean(axis=1), [0.6, 0.9, 0.8]])
    panel = sensitivity_panel(values, [False, True], ["brier", "auroc"], rule="mean_rank",
                              case_values={"brier": CASES})
    median = _by(panel, "median")
    # brier ranks by median a1 b2 c3, auroc b1 c2 a3 -> means a 2, b 1.5, c 2.5.
    assert median.rank.tolist() == [2, 1, 3] and not median.winner_changed
    expected = rankdata(rankdata(np.median(CASES, axis=1), method="min")
                        + rankdata(-values[:, 1], method="min"), method="min")
    assert median.rank.tolist() == expected.astype(int).tolist()


def test_undefined_values_never_win_and_the_callers_official_ranking_is_kept():
    values = np.array([[np.nan, 0.5], [np.nan, 0.7]])
    panel = sensitivity_panel(values, [True, True], ["auroc", "ppv"], rule="mean_rank",
                              rank=[2, 1])
    assert panel.rank.tolist() == [2, 1] and panel.winners == [1]
    nothing = _by(panel, "column", column="auroc")
    assert nothing.winners == [] and nothing.winner_changed
    assert nothing.tau is None  # both share the last rank: a constant ranking


def test_a_field_s_panel_ranks_by_the_median_squared_error_and_keeps_the_official_ranking(
    flchain,
):
    labels = flchain["label"].to_numpy()
    base = flchain["score"].to_numpy()
    rng = np.random.default_rng(3)
    scores = np.clip(np.stack([base, base ** 2, np.sqrt(base), rng.uniform(size=len(base))]),
                     0, 1)
    names = ["raw", "squared", "root", "noise"]
    field = Field(names, labels, scores, {"sex": flchain["sex"].to_numpy()},
                  columns=["brier", "auroc"], ranking="mean_rank")
    panel = field_sensitivity(field)
    official = compute_leaderboard(field, bootstrap=0)
    by_name = {entry.name: entry.rank for entry in official.entries}
    assert panel.rank.tolist() == [by_name[n] for n in names]
    median_brier = np.median((scores - labels) ** 2, axis=1)
    auroc = np.array([official.entries[[e.name for e in official.entries].index(n)]
                      .metrics["auroc"] for n in names])
    expected = rankdata(rankdata(median_brier, method="min") + rankdata(-auroc, method="min"),
                        method="min")
    assert _by(panel, "median").rank.tolist() == expected.astype(int).tolist()
    assert _by(panel, "median").tau == pytest.approx(_tau(expected, panel.rank), abs=1e-12)
