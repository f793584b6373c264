"""Design-time power: sample sizes and detectable differences against statsmodels, the AUROC
half-width against Hanley & McNeil's variance with Q₁, Q₂ integrated numerically, and the groups
of the flchain ground truth against a pandas count. Tolerance 1e-9 unless said."""

from __future__ import annotations

import math

import pytest
from scipy.integrate import quad
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from scoring import InputError, read_truth
from scoring.power import group_power, truth_power
from tests.scoring.conftest import csv_bytes


def test_a_group_with_513_positives_cannot_show_a_five_point_sensitivity_difference():
    power = group_power(513, 4000)
    assert power["sensitivity"]["needed"] == 903
    assert power["sensitivity"]["have"] == 513
    assert power["sensitivity"]["detectable_difference"] == pytest.approx(0.0650367, abs=1e-7)
    assert power["sensitivity"]["enough"] is False
    assert power["specificity"]["have"] == 4000
    assert power["specificity"]["enough"] is True


@pytest.mark.parametrize("baseline, difference, alpha", [
    (0.8, 0.05, 0.05), (0.6, 0.1, 0.01), (0.9, 0.02, 0.05), (0.5, 0.5, 0.1),
])
@pytest.mark.parametrize("have", [0, 1, 12, 513, 20_000])
def test_sample_size_and_detectable_difference_equal_statsmodels(baseline, difference, alpha,
                                                                 have):
    power = group_power(have, 100, baseline=baseline, difference=difference, alpha=alpha)
    solver = NormalIndPower()
    needed = solver.solve_power(effect_size=proportion_effectsize(baseline + difference, baseline),
                                alpha=alpha, power=0.8, ratio=1)
    assert power["sensitivity"]["needed"] == math.ceil(needed)
    assert power["sensitivity"]["enough"] == (have >= math.ceil(needed))
    detectable = power["sensitivity"]["detectable_difference"]
    if detectable is None:
        # Not even a proportion of 1 reaches power 0.8 with these cases.
        assert have == 0 or solver.power(proportion_effectsize(1.0, baseline), nobs1=have,
                                         alpha=alpha, ratio=1) < 0.8
    else:
        h = solver.solve_power(effect_size=None, nobs1=have, alpha=alpha, power=0.8, ratio=1)
        expected = math.sin(math.asin(math.sqrt(baseline)) + h / 2) ** 2 - baseline
        assert detectable == pytest.approx(expected, abs=1e-12)
        # At the detectable difference the power is 0.8, to the accuracy of statsmodels' root
        # finder for the effect size (its power there is off by up to 3e-5).
        achieved = solver.power(proportion_effectsize(baseline + detectable, baseline),
                                nobs1=have, alpha=alpha, ratio=1)
        assert achieved == pytest.approx(0.8, abs=1e-4)


def hanley_mcneil_by_integration(auc: float, n_pos: int, n_neg: int) -> float:
    """Q₁ = P(two positives both outscore a negative), Q₂ = P(a positive outscores two
    negatives), for exponential scores with P(X > Y) = auc, by numerical integration."""
    rate = (1 - auc) / auc  # positives ~ Exp(rate), negatives ~ Exp(1): P(X > Y) = 1/(1 + rate)
    q1 = quad(lambda y: math.exp(-2 * rate * y) * math.exp(-y), 0, math.inf, epsabs=1e-14)[0]
    q2 = quad(lambda x: (1 - math.exp(-x)) ** 2 * rate * math.exp(-rate * x), 0, math.inf,
              epsabs=1e-14)[0]
    variance = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2)
                + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    return 1.96 * math.sqrt(variance)


@pytest.mark.parametrize("auc", [0.6, 0.8, 0.95])
@pytest.mark.parametrize("n_pos, n_neg", [(1, 1), (30, 300), (513, 4000)])
def test_auroc_half_width_is_hanley_and_mcneil(auc, n_pos, n_neg):
    power = group_power(n_pos, n_neg, auc_baseline=auc)
    assert power["auroc"]["half_width"] == pytest.approx(
        hanley_mcneil_by_integration(auc, n_pos, n_neg), rel=1e-9)


def test_a_group_without_positives_has_no_detectable_difference_nor_auroc_width():
    power = group_power(0, 50)
    assert power["sensitivity"]["detectable_difference"] is None
    assert power["sensitivity"]["enough"] is False
    assert power["auroc"]["half_width"] is None


@pytest.mark.parametrize("options, message", [
    ({"baseline": 0.97, "difference": 0.05}, "above 1, not a proportion"),
    ({"difference": 0.0}, "must be positive"),
    ({"baseline": 1.0}, "baseline proportion must be between 0 and 1"),
    ({"auc_baseline": 0.0}, "baseline AUROC"),
    ({"alpha": 0.0}, "alpha must be between 0 and 1"),
])
def test_impossible_options_are_refused(options, message):
    with pytest.raises(InputError, match=message):
        group_power(100, 100, **options)


def test_every_group_of_the_ground_truth_gets_its_power(flchain, binary_truth):
    report = truth_power(binary_truth, attributes=["sex", "creatinine"],
                         intersections=[("sex", "age_band")])
    labels = flchain["label"]
    assert report["overall"] == {"n": len(flchain), "positives": int(labels.sum()),
                                 "negatives": int((labels == 0).sum()),
                                 **group_power(int(labels.sum()), int((labels == 0).sum()))}
    keys = {"sex": flchain["sex"], "creatinine": flchain["creatinine"].replace("", "unknown"),
            "sex×age_band": flchain["sex"] + "×" + flchain["age_band"]}
    assert [a["attribute"] for a in report["attributes"]] == list(keys)
    for attribute in report["attributes"]:
        counts = labels.groupby(keys[attribute["attribute"]].to_numpy()).agg(["size", "sum"])
        assert sorted(g["group"] for g in attribute["groups"]) == sorted(counts.index)
        for group in attribute["groups"]:
            size, positives = counts.loc[group["group"]]
            assert (group["n"], group["positives"], group["negatives"]) == (
                size, positives, size - positives)
            assert group["sensitivity"] == group_power(positives, size - positives)["sensitivity"]
            assert group["auroc"] == group_power(positives, size - positives)["auroc"]


def test_power_is_for_binary_ground_truths_only(flchain):
    frame = flchain[["case_id", "age"]].rename(columns={"age": "label"})
    truth = read_truth(csv_bytes(frame), task="regression")
    with pytest.raises(InputError, match="binary tasks only"):
        truth_power(truth)
