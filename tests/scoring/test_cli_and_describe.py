"""``python -m scoring``: exit codes, output formats, and the organisers' data report."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from scipy.stats import entropy

from scoring import describe as describe_module
from scoring.cli import main
from scoring.errors import InputError
from scoring.power import group_power


@pytest.fixture(scope="module")
def files(flchain, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    truth = folder / "truth.csv"
    flchain[["case_id", "label", "sex", "age_band", "creatinine"]].to_csv(truth, index=False)
    predictions = folder / "predictions.csv.gz"
    flchain[["case_id", "score"]].to_csv(predictions, index=False, compression="gzip")
    return truth, predictions


def test_evaluate_prints_the_json_result(files, capsys):
    truth, predictions = files
    code = main(["evaluate", "--truth", str(truth), "--predictions", str(predictions),
                 "--intersections", "sex:age_band", "--metrics", "auroc,sensitivity",
                 "--bootstrap", "50", "--threshold", "0.3", "--format", "json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(result) == {"task", "n_cases", "threshold", "overall", "groups", "fairness",
                           "parity"}
    assert result["n_cases"] == 7874 and result["threshold"] == 0.3
    assert len(result["overall"]["auroc"]["ci"]) == 2
    assert any(g["attribute"] == "sex×age_band" and g["group"] == "M×90+"
               for g in result["groups"])


def test_evaluate_prints_a_table_by_default(files, capsys):
    truth, predictions = files
    assert main(["evaluate", "--truth", str(truth), "--predictions", str(predictions),
                 "--bootstrap", "0", "--metrics", "auroc"]) == 0
    out = capsys.readouterr().out
    assert "auroc" in out and "creatinine" in out and "unknown" in out


def test_invalid_input_exits_2_with_one_line_per_problem(files, tmp_path, capsys):
    truth, _ = files
    bad = tmp_path / "bad.csv"
    bad.write_text("case_id,score\np00000,2\np00000,0.5\n")
    assert main(["evaluate", "--truth", str(truth), "--predictions", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "1 case id appears more than once, first: p00000" in err
    assert "7873 cases missing, first: p00001, p00002, p00003, p00004, p00005, …" in err
    assert "1 score is outside [0, 1], first: p00000" in err
    assert not any("Traceback" in line for line in err)


def test_unknown_metrics_and_attributes_exit_2(files, capsys):
    truth, predictions = files
    assert main(["evaluate", "--truth", str(truth), "--predictions", str(predictions),
                 "--metrics", "dice", "--attributes", "race"]) == 2
    err = capsys.readouterr().err
    assert "unknown metric 'dice'" in err and "unknown attribute 'race'" in err


def test_describe_reports_counts_shares_and_effective_groups(flchain, files, capsys):
    truth, _ = files
    assert main(["describe", "--truth", str(truth), "--intersections", "sex:age_band",
                 "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    creatinine = next(a for a in report["attributes"] if a["attribute"] == "creatinine")
    counts = flchain["creatinine"].replace("", "unknown").value_counts()
    assert {g["group"]: g["n"] for g in creatinine["groups"]} == counts.to_dict()
    assert creatinine["effective_groups"] == pytest.approx(math.exp(entropy(counts / counts.sum())))
    unknown = next(g for g in creatinine["groups"] if g["group"] == "unknown")
    positives = flchain.loc[flchain["creatinine"] == "", "label"].sum()
    assert unknown["positives"] == positives
    assert unknown["sensitivity_half_width"] == pytest.approx(1.959964 * (0.25 / positives) ** 0.5)
    assert any("M×90+" in w and "fewer than 30" in w for w in report["warnings"])
    assert any("M×90+" in w and "no negative cases" in w for w in report["warnings"])
    intersection = next(a for a in report["attributes"] if a["attribute"] == "sex×age_band")
    assert intersection["smallest"][0] == "M×90+"


def test_describe_table_lists_warnings(files, capsys):
    truth, _ = files
    assert main(["describe", "--truth", str(truth), "--intersections", "sex:age_band"]) == 0
    out = capsys.readouterr().out
    assert "effective number of groups" in out and "warnings:" in out


def test_metrics_command_lists_the_registry(capsys):
    assert main(["metrics", "--task", "regression"]) == 0
    assert "rmse" in capsys.readouterr().out


def test_no_positives_means_no_expected_sensitivity_half_width():
    assert describe_module.sensitivity_half_width(0) is None


def test_describe_counts_classes_and_warns_about_absent_ones(multiclass_truth):
    report = describe_module.describe(multiclass_truth, min_group=1)
    chapter = next(a for a in report["attributes"] if a["attribute"] == "chapter")
    blood = next(g for g in chapter["groups"] if g["group"] == "Blood")
    assert blood["class_counts"] == {"low": 0, "mid": 0, "high": 4}
    assert "chapter = Blood: no cases of class low, mid: left out of this group's macro " \
        "averages" in report["warnings"]


@pytest.fixture
def multiclass_truth(flchain):
    from scoring import read_truth
    from tests.scoring.conftest import csv_bytes

    frame = flchain[["case_id", "chapter"]].assign(
        label=pd.qcut(flchain["age"], 3, labels=["low", "mid", "high"]).astype(str))
    return read_truth(csv_bytes(frame), task="multiclass", classes=["low", "mid", "high"])


def test_describe_json_gives_each_group_the_power_of_its_counts(flchain, files, capsys):
    truth, _ = files
    assert main(["describe", "--truth", str(truth), "--power-baseline", "0.7",
                 "--power-difference", "0.1", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    sex = next(a for a in report["attributes"] if a["attribute"] == "sex")
    for group in sex["groups"]:
        labels = flchain.loc[flchain["sex"] == group["group"], "label"]
        expected = group_power(int(labels.sum()), int((labels == 0).sum()), baseline=0.7,
                               difference=0.1)
        assert group["power"] == expected


def test_describe_power_defaults_to_baseline_08_and_difference_005(flchain, files, capsys):
    truth, _ = files
    assert main(["describe", "--truth", str(truth), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    creatinine = next(a for a in report["attributes"] if a["attribute"] == "creatinine")
    unknown = next(g for g in creatinine["groups"] if g["group"] == "unknown")
    labels = flchain.loc[flchain["creatinine"] == "", "label"]
    assert unknown["power"] == group_power(int(labels.sum()), int((labels == 0).sum()))


def test_describe_table_prints_needed_have_and_enough_per_group(files, capsys):
    truth, _ = files
    assert main(["describe", "--truth", str(truth)]) == 0
    out = capsys.readouterr().out
    assert "power of F: sensitivity needs 903 positives, has" in out
    assert "(not enough)" in out or "(enough)" in out


def test_describe_refuses_a_baseline_plus_difference_above_1(files, capsys):
    truth, _ = files
    assert main(["describe", "--truth", str(truth), "--power-baseline", "0.97",
                 "--power-difference", "0.05"]) == 2
    assert "baseline 0.97 + difference 0.05 is above 1, not a proportion" in \
        capsys.readouterr().err


def test_describe_leaves_power_out_unless_asked(binary_truth, multiclass_truth):
    assert all("power" not in group
               for a in describe_module.describe(binary_truth)["attributes"]
               for group in a["groups"])
    with pytest.raises(InputError, match="binary tasks only"):
        describe_module.describe(multiclass_truth, power=(0.8, 0.05))
