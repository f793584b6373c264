"""Binary metrics overall and per subgroup against scikit-learn and fairlearn on flchain,
to 1e-9, including tied scores, single-class groups and zero divisions."""

from __future__ import annotations

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from scipy.stats import wasserstein_distance
from sklearn import metrics as sk

from scoring import evaluate
from scoring.result import MetricValue

TOLERANCE = 1e-9
THRESHOLD = 0.3


@pytest.fixture(scope="module")
def result(binary_truth, binary_predictions, engine_path):
    return evaluate(
        binary_truth, binary_predictions, threshold=THRESHOLD,
        intersections=[("sex", "age_band"), ("sex", "creatinine")],
    ).to_dict()


def _frame_groups(flchain, result):
    """(group entry, mask over flchain rows) for overall and every group."""
    yield {"attribute": "", "group": "all", "metrics": result["overall"]}, np.ones(
        len(flchain), bool
    )
    for entry in result["groups"]:
        names = entry["attribute"].split("×")
        values = entry["group"].split("×")
        mask = np.ones(len(flchain), bool)
        for name, value in zip(names, values, strict=True):
            column = flchain[name].replace("", "unknown")
            mask &= (column == value).to_numpy()
        yield entry, mask


def _oracle(name, y, s, d):
    """scikit-learn's value, or None where the engine must report the metric undefined."""
    positives, negatives = (y == 1).sum(), (y == 0).sum()
    decided, undecided = (d == 1).sum(), (d == 0).sum()
    tp = ((y == 1) & (d == 1)).sum()
    fp = ((y == 0) & (d == 1)).sum()
    fn = ((y == 1) & (d == 0)).sum()
    tn = ((y == 0) & (d == 0)).sum()
    one_class = positives == 0 or negatives == 0
    match name:
        case "accuracy":
            return sk.accuracy_score(y, d)
        case "balanced_accuracy":
            return None if one_class else sk.balanced_accuracy_score(y, d)
        case "sensitivity":
            return None if positives == 0 else sk.recall_score(y, d)
        case "specificity":
            return None if negatives == 0 else sk.recall_score(y, d, pos_label=0)
        case "ppv":
            return None if decided == 0 else sk.precision_score(y, d)
        case "npv":
            return None if undecided == 0 else sk.precision_score(y, d, pos_label=0)
        case "f1":
            return None if positives == 0 and decided == 0 else sk.f1_score(y, d)
        case "mcc":
            empty = min(tp + fp, tp + fn, tn + fp, tn + fn) == 0
            return None if empty else sk.matthews_corrcoef(y, d)
        case "auroc":
            return None if one_class else sk.roc_auc_score(y, s)
        case "auprc":
            return None if one_class else sk.average_precision_score(y, s)
        case "brier":
            return sk.brier_score_loss(y, s)
        case "log_loss":
            return sk.log_loss(y, s, labels=[0, 1])
        case "ece":
            bins = np.minimum(np.floor(10 * s), 9)
            return sum(
                (bins == b).mean() * abs(s[bins == b].mean() - y[bins == b].mean())
                for b in range(10) if (bins == b).any()
            )
        case "net_benefit":
            return tp / len(y) - fp / len(y) * THRESHOLD / (1 - THRESHOLD)
        case "expected_cost":  # the default costs, 1 each: the error rate
            return (fn + fp) / len(y)
    raise AssertionError(name)


def test_every_binary_metric_overall_and_per_group_matches_scikit_learn(flchain, result):
    y = flchain["label"].to_numpy()
    s = flchain["score"].to_numpy()
    d = (s >= THRESHOLD).astype(int)
    undefined_seen = set()
    for entry, mask in _frame_groups(flchain, result):
        assert entry.get("n", mask.sum()) == mask.sum()
        for name, got in entry["metrics"].items():
            expected = _oracle(name, y[mask], s[mask], d[mask])
            if expected is None:
                assert got["value"] is None and got["reason"], (entry["group"], name)
                undefined_seen.add(name)
            else:
                assert got["value"] == pytest.approx(expected, abs=TOLERANCE), (
                    entry["attribute"], entry["group"], name)
    # flchain's cause-of-death groups hold deaths only.
    assert {"specificity", "auroc", "auprc", "mcc", "balanced_accuracy"} <= undefined_seen


def test_sensitivity_is_undefined_without_positives(binary_truth, binary_predictions):
    alive = binary_truth.labels == 0
    result = evaluate(binary_truth, binary_predictions, cases=alive)
    assert result.metric("sensitivity") == MetricValue(value=None, reason="no positive cases")
    assert result.value("auroc") is None
    assert result.value("specificity") is not None


def test_ppv_is_undefined_without_positive_decisions(binary_truth, binary_predictions):
    low = binary_predictions.scores < THRESHOLD
    result = evaluate(binary_truth, binary_predictions, threshold=THRESHOLD, cases=low)
    assert result.metric("ppv") == MetricValue(value=None, reason="no positive decisions")
    assert result.value("mcc") is None
    assert result.value("f1") == 0.0  # positives exist, none decided positive: 0, defined


def test_scores_with_many_ties_give_scikit_learns_auroc(flchain, result):
    assert flchain["score"].nunique() < 100  # rounded: ties everywhere
    assert result["overall"]["auroc"]["value"] == pytest.approx(
        sk.roc_auc_score(flchain["label"], flchain["score"]), abs=TOLERANCE)


def test_groups_have_sizes_and_small_flags(result):
    sizes = {(g["attribute"], g["group"]): (g["n"], g["small"]) for g in result["groups"]}
    assert sizes[("sex×age_band", "M×90+")] == (23, True)
    assert sizes[("creatinine", "unknown")] == (1350, False)
    assert sizes[("sex", "F")] == (4350, False)


def test_parity_matches_fairlearn_over_groups_that_are_not_small(flchain, result):
    y = flchain["label"].to_numpy()
    s = flchain["score"].to_numpy()
    d = (s >= THRESHOLD).astype(int)
    for attribute in ("sex", "age_band", "creatinine"):
        groups = flchain[attribute].replace("", "unknown")
        kept = groups.map(groups.value_counts() >= 30).to_numpy()
        parity = result["parity"][attribute]
        assert parity["demographic_parity_difference"] == pytest.approx(
            demographic_parity_difference(y[kept], d[kept], sensitive_features=groups[kept]),
            abs=TOLERANCE)
        assert parity["equalized_odds_difference"] == pytest.approx(
            equalized_odds_difference(y[kept], d[kept], sensitive_features=groups[kept]),
            abs=TOLERANCE)
        expected = max(
            wasserstein_distance(s[kept & (groups == g).to_numpy()], s[(groups != g).to_numpy()])
            for g in groups[kept].unique()
        )
        assert parity["score_wasserstein"] == pytest.approx(expected, abs=TOLERANCE)


def test_worst_group_ignores_suppressed_groups_and_follows_the_metric_direction(result):
    by_group = {
        g["group"]: g["metrics"] for g in result["groups"] if g["attribute"] == "sex×age_band"
    }
    # Small groups and those hidden with them (secondary suppression).
    small = {g["group"] for g in result["groups"] if g["attribute"] == "sex×age_band"
             and g["suppressed"]}
    auroc = result["fairness"]["auroc"]["sex×age_band"]
    values = {k: v["auroc"]["value"] for k, v in by_group.items()
              if k not in small and v["auroc"]["value"] is not None}
    assert auroc["worst_group"] == min(values, key=values.get)
    assert auroc["difference"] == pytest.approx(max(values.values()) - min(values.values()))
    brier = result["fairness"]["brier"]["sex×age_band"]
    briers = {k: v["brier"]["value"] for k, v in by_group.items() if k not in small}
    assert brier["worst_group"] == max(briers, key=briers.get)
    assert brier["ratio"] == pytest.approx(min(briers.values()) / max(briers.values()))


def test_ratio_is_null_when_a_value_is_not_positive(result):
    # At a 0.3 threshold women aged 50-59 get a negative net benefit.
    summary = result["fairness"]["net_benefit"]["sex×age_band"]
    assert summary["worst_group"] == "F×50-59" and summary["worst_value"] < 0
    assert summary["ratio"] is None and summary["difference"] is not None


def test_result_has_no_nan_anywhere(result):
    import json

    json.dumps(result, allow_nan=False)


def test_a_ground_truth_without_attributes_is_scored_overall_only():
    import io

    from scoring import read_predictions, read_truth

    truth = read_truth(io.BytesIO(b"case_id,label\na,1\nb,0\nc,1\nd,0\n"))
    predictions = read_predictions(io.BytesIO(b"case_id,score\na,0.9\nb,0.2\nc,0.4\nd,0.6\n"),
                                   truth)
    result = evaluate(truth, predictions, bootstrap=20)
    assert result.groups == [] and result.parity == {}
    assert result.value("auroc") == 0.75
    assert result.n_cases == 4
