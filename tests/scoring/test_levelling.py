"""Levelling down and floors on the flchain demo data: group values against scikit-learn and
fairlearn, the levelling-down flag on entries built to level down (the best-off made worse)
and to level up (the worst-off made better), floors and ceilings, and the CLI."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from fairlearn.metrics import MetricFrame
from sklearn.metrics import brier_score_loss, recall_score

from scoring.cli import main
from scoring.io import read_predictions, read_truth
from scoring.levelling import levelling_report, metric_comparison
from tests.conftest import predictions_csv


@pytest.fixture(scope="module")
def field(demo_data, truth_csv, good_predictions):
    truth = read_truth(io.BytesIO(truth_csv))
    frame = demo_data.truth.set_index("case_id").loc[list(truth.case_ids)]
    good = read_predictions(io.BytesIO(good_predictions), truth)
    return truth, frame, good


def _entry(truth, scores):
    return read_predictions(io.BytesIO(predictions_csv(truth.case_ids, scores)), truth)


def test_group_values_and_gap_match_scikit_learn_and_fairlearn(field):
    truth, frame, good = field
    report = levelling_report(truth, [good], ["good"], reference=good, reference_name="good",
                              attribute="sex", metrics=["sensitivity", "brier"])
    row = report["entries"][0]["metrics"]
    decided = (good.scores >= 0.5).astype(int)
    recall = MetricFrame(metrics=recall_score, y_true=frame["label"], y_pred=decided,
                         sensitive_features=frame["sex"])
    for group, value in recall.by_group.items():
        assert row["sensitivity"]["groups"][group] == pytest.approx(value, abs=1e-12)
    assert row["sensitivity"]["gap"] == pytest.approx(recall.difference(), abs=1e-12)
    for group in ("female", "male"):
        mask = (frame["sex"] == group).to_numpy()
        assert row["brier"]["groups"][group] == pytest.approx(
            brier_score_loss(frame["label"][mask], good.scores[mask]), abs=1e-12)
    # Against itself: nothing changed, nothing levelled down.
    assert set(row["sensitivity"]["change"].values()) == {0.0}
    assert row["sensitivity"]["levelled_down"] is False


def test_closing_the_gap_by_making_the_best_off_worse_is_levelling_down(field):
    truth, frame, good = field
    base = levelling_report(truth, [good], ["good"], reference=good, reference_name="good",
                            attribute="sex", metrics=["sensitivity"])
    groups = base["entries"][0]["metrics"]["sensitivity"]["groups"]
    best, worst = max(groups, key=groups.get), min(groups, key=groups.get)
    labels = frame["label"].to_numpy() == 1
    detected = good.scores >= 0.5
    in_best = (frame["sex"] == best).to_numpy()
    in_worst = (frame["sex"] == worst).to_numpy()
    # Flip enough cases to close 80% of the gap: the best-off's detected positives missed
    # (levelling down), or the worst-off's missed positives found (levelling up).
    k_best = round(0.8 * (groups[best] - groups[worst]) * (labels & in_best).sum())
    k_worst = round(0.8 * (groups[best] - groups[worst]) * (labels & in_worst).sum())
    lowered = good.scores.copy()
    lowered[np.flatnonzero(labels & in_best & detected)[:k_best]] = 0.49
    raised = good.scores.copy()
    raised[np.flatnonzero(labels & in_worst & ~detected)[:k_worst]] = 0.51
    report = levelling_report(
        truth, [_entry(truth, lowered), _entry(truth, raised)], ["down", "up"], reference=good,
        reference_name="good", attribute="sex", metrics=["sensitivity"],
        floors={"sensitivity": 0.3},
    )
    down, up = (e["metrics"]["sensitivity"] for e in report["entries"])
    assert down["gap"] < base["entries"][0]["metrics"]["sensitivity"]["gap"] - 0.01
    assert down["change"][best] < -0.01 and down["change"][worst] == 0.0
    assert down["levelled_down"] is True
    assert up["change"][worst] > 0.01 and up["levelled_down"] is False
    expected = {name: all(v >= 0.3 for v in e["metrics"]["sensitivity"]["groups"].values())
                for name, e in zip(("down", "up"), report["entries"], strict=True)}
    assert {"down": down["meets_floor"], "up": up["meets_floor"]} == expected


def test_a_lower_is_better_metric_mirrors_the_rules_and_its_floor_is_a_ceiling():
    reference = {"a": 0.10, "b": 0.30}  # brier: "a" is better off
    worse_best = {"a": 0.20, "b": 0.30}  # the gap closed by making "a" worse
    kw = {"higher_is_better": False, "margin": 0.01}
    assert metric_comparison(worse_best, reference, floor=0.25, **kw)["levelled_down"] is True
    better_worst = {"a": 0.10, "b": 0.15}
    row = metric_comparison(better_worst, reference, floor=0.25, **kw)
    assert row["levelled_down"] is False and row["meets_floor"] is True
    assert metric_comparison(worse_best, reference, floor=0.25, **kw)["meets_floor"] is False
    # One shared group: no gap, no flag; no floor given: no answer.
    lone = metric_comparison({"a": 0.2}, reference, floor=None, **kw)
    assert lone["gap"] is None and lone["levelled_down"] is None and lone["meets_floor"] is None


def test_released_values_are_compared_on_their_own_grid_not_on_float_noise():
    """Gaps of 0.190 against a reference gap of 0.200 − a margin of 0.01 is a tie (not
    levelled down), but in floats 0.69 − 0.5 = 0.18999999999999995 < 0.763 − 0.563 − 0.01 =
    0.19000000000000003: on exact floats noise alone would raise the flag. With ``decimals``
    the comparisons are made in units of the last shown digit: 190 against 190."""
    reference = {"female": 0.563, "male": 0.763}
    entry = {"female": 0.5, "male": 0.69}
    kw = {"higher_is_better": True, "margin": 0.01, "floor": 0.29}
    assert metric_comparison(entry, reference, **kw)["levelled_down"] is True  # the noise
    on_grid = metric_comparison(entry, reference, decimals=3, **kw)
    assert on_grid["gap"] == 0.19 and on_grid["levelled_down"] is False
    narrower = metric_comparison({"female": 0.501, "male": 0.69}, reference, decimals=3, **kw)
    assert narrower["levelled_down"] is True
    # 0.29 × 100 is 28.999999999999996: a value shown as 0.29 meets a floor of 0.29.
    assert metric_comparison({"a": 0.29}, {"a": 0.3}, decimals=2, **kw)["meets_floor"] is True
    assert metric_comparison({"a": 0.28}, {"a": 0.3}, decimals=2, **kw)["meets_floor"] is False
    assert on_grid["change"] == {"female": -0.063, "male": -0.073}


def test_the_cli_prints_json_and_refuses_an_unknown_attribute_in_one_line(
    tmp_path, truth_csv, good_predictions, capsys
):
    (tmp_path / "truth.csv").write_bytes(truth_csv)
    (tmp_path / "good.csv").write_bytes(good_predictions)
    args = ["fairness", "--truth", str(tmp_path / "truth.csv"), str(tmp_path / "good.csv"),
            "--reference", str(tmp_path / "good.csv"), "--metrics", "sensitivity,specificity",
            "--floor", "sensitivity=0.2"]
    assert main([*args, "--attribute", "sex", "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["attribute"] == "sex" and printed["reference"] == "good"
    entry = printed["entries"][0]
    assert entry["name"] == "good" and set(entry["metrics"]) == {"sensitivity", "specificity"}
    assert entry["metrics"]["specificity"]["meets_floor"] is None
    assert main([*args, "--attribute", "sex"]) == 0
    assert "levelled down no" in capsys.readouterr().out
    assert main([*args, "--attribute", "colour"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["unknown attribute 'colour' (the ground truth has: sex, age_band, "
                   "kidney_function)"]


def test_vectorised_change_intervals_equal_the_paired_bootstrap_with_scikit_learn(field):
    """group_change_intervals (the web's, every resample at once through the registry's metric)
    against paired_change_intervals with scikit-learn's weighted recall and AUROC per group on
    the same resamples, on flchain (to 1e-12)."""
    from sklearn.metrics import roc_auc_score

    from scoring.levelling import group_change_intervals, paired_change_intervals

    truth, frame, good = field
    rng = np.random.default_rng(2)
    noisy = _entry(truth, np.clip(good.scores + rng.normal(0, 0.15, truth.n), 0, 1).round(3))
    sex = np.asarray(truth.attributes["sex"]).astype(str)
    groups = {g: sex == g for g in ("female", "male")}
    label = np.asarray(truth.labels)

    def by_group(scores, metric):
        def statistic(weights):
            out = {}
            for g, mask in groups.items():
                w = weights[mask]
                if metric == "sensitivity":
                    out[g] = recall_score(label[mask], (scores[mask] >= 0.5).astype(int),
                                          sample_weight=w)
                else:
                    keep = w > 0
                    out[g] = roc_auc_score(label[mask][keep], scores[mask][keep],
                                           sample_weight=w[keep])
            return out
        return statistic

    for metric in ("sensitivity", "auroc"):
        got = group_change_intervals(truth, noisy, good, metric=metric, groups=groups,
                                     resamples=60, seed=4)
        oracle = paired_change_intervals(by_group(noisy.scores, metric),
                                         by_group(good.scores, metric), truth.n,
                                         resamples=60, seed=4)
        assert set(got) == {"female", "male"}
        for g in got:
            for key in ("change", "lower", "upper"):
                assert got[g][key] == pytest.approx(oracle[g][key], abs=1e-12)
        itself = group_change_intervals(truth, good, good, metric=metric, groups=groups,
                                        resamples=60, seed=4)
        assert all(v == {"change": 0.0, "lower": 0.0, "upper": 0.0} for v in itself.values())


def test_floors_are_checked_against_the_registry_and_each_metric_range():
    from scoring.levelling import check_floors

    assert check_floors("binary", {"sensitivity": 0.5, "mcc": -0.2, "brier": 0.2}) == []
    problems = check_floors("binary", {"sensitivity": 1.5, "brier": "low", "sensitivty": 0.5,
                                       "log_loss": -1, "ppv": True})
    text = "\n".join(problems)
    assert "sensitivity: the floor must lie between 0 and 1" in text
    assert "brier: the ceiling must be a number" in text
    assert "unknown metric 'sensitivty'" in text
    assert "log_loss: the ceiling must lie between 0 and inf" in text
    assert "ppv: the floor must be a number" in text
    assert check_floors("binary", [0.5]) != []
