"""``python -m scoring leaderboard`` and ``label-bias`` run as a user runs them (a subprocess) on
flchain files: the JSON shape of the issue, the same numbers as the library, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scoring.field import Field
from scoring.io import read_predictions, read_truth
from scoring.leaderboard import compute_leaderboard
from scoring.sensitivity import field_sensitivity

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def files(flchain, tmp_path_factory):
    folder = tmp_path_factory.mktemp("leaderboard")
    truth = folder / "truth.csv"
    split = np.where(np.arange(len(flchain)) % 3 == 0, "private", "public")
    flchain[["case_id", "label", "sex"]].assign(split=split).to_csv(truth, index=False)
    rng = np.random.default_rng(2)
    paths = []
    for name, noise in (("logit", 0.0), ("noisy", 0.1), ("noisier", 0.3)):
        score = np.clip(flchain["score"] + rng.normal(0, noise, len(flchain)), 0, 1).round(3)
        path = folder / f"{name}.csv"
        flchain[["case_id"]].assign(score=score).to_csv(path, index=False)
        paths.append(str(path))
    return str(truth), paths


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scoring", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def test_json_has_the_issues_shape_and_the_librarys_numbers(files):
    truth, paths = files
    done = run("leaderboard", "--truth", truth, *paths, "--ranking", "mean_rank",
               "--metrics", "auroc,sensitivity,specificity", "--worst-group-on", "sex",
               "--bootstrap", "50", "--seed", "3", "--format", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["ranking"] == "mean_rank"
    ranks = [e["rank"] for e in document["entries"]]
    assert ranks == sorted(ranks)
    entry = document["entries"][0]
    assert set(entry) >= {"name", "rank", "score", "metrics", "rank_interval", "p_first"}
    assert list(entry["metrics"]) == ["auroc", "sensitivity", "specificity"]
    assert 0 <= document["kendall_tau"] <= 1

    truth_data = read_truth(truth)
    predictions = [read_predictions(path, truth_data) for path in paths]
    scores = np.vstack([p.scores for p in predictions])
    expected = compute_leaderboard(
        Field(["logit", "noisy", "noisier"], truth_data.labels, scores, truth_data.attributes,
              columns=["auroc", "sensitivity", "specificity"], ranking="mean_rank",
              worst_group_on="sex"),
        bootstrap=50, seed=3,
    )
    assert document == json.loads(json.dumps(expected.to_dict()))


def test_without_bootstrap_interval_p_first_and_tau_are_null(files):
    truth, paths = files
    done = run("leaderboard", "--truth", truth, *paths, "--metrics", "auroc",
               "--ranking", "primary", "--bootstrap", "0", "--format", "json")
    document = json.loads(done.stdout)
    assert document["kendall_tau"] is None
    assert {e["name"] for e in document["entries"]} == {"logit", "noisy", "noisier"}
    assert all(e["rank_interval"] is None and e["p_first"] is None for e in document["entries"])


def test_attributes_show_each_group_and_split_selects_cases(files):
    truth, paths = files
    done = run("leaderboard", "--truth", truth, *paths, "--metrics", "auroc",
               "--attributes", "sex", "--split", "public", "--bootstrap", "0", "--format", "json")
    document = json.loads(done.stdout)
    assert list(document["entries"][0]["metrics"]) == ["auroc", "auroc@sex=F", "auroc@sex=M"]
    assert document["n_cases"] == sum(1 for i in range(7874) if i % 3)


def test_table_format_lists_ranks_intervals_and_the_what_if_table(files):
    truth, paths = files
    done = run("leaderboard", "--truth", truth, *paths, "--metrics", "auroc,ppv",
               "--bootstrap", "20")
    assert done.returncode == 0, done.stderr
    assert "95% rank interval" in done.stdout and "if ranked by" in done.stdout


def test_sensitivity_adds_the_libraries_panel_to_the_json_and_a_table(files):
    truth, paths = files
    options = ["--metrics", "brier,auroc", "--ranking", "mean_rank", "--bootstrap", "0",
               "--split", "private", "--sensitivity"]
    done = run("leaderboard", "--truth", truth, *paths, *options, "--format", "json")
    assert done.returncode == 0, done.stderr
    panel = json.loads(done.stdout)["sensitivity"]
    truth_data = read_truth(truth)
    scores = np.vstack([read_predictions(path, truth_data).scores for path in paths])
    names = ["logit", "noisy", "noisier"]
    expected = field_sensitivity(Field(
        names, truth_data.labels, scores, truth_data.attributes, columns=["brier", "auroc"],
        ranking="mean_rank", cases=truth_data.split == "private",
    ))
    assert panel == json.loads(json.dumps(expected.to_dict(names)))
    assert [(v["kind"], v["column"]) for v in panel["variants"]][-1] == ("median", "brier")
    table = run("leaderboard", "--truth", truth, *paths, *options)
    assert "How the ranking moves" in table.stdout
    assert "mean_rank, median of brier over cases" in table.stdout


def test_label_bias_command_reports_ranks_before_and_after(files):
    truth, paths = files
    done = run("label-bias", "--truth", truth, *paths, "--metrics", "sensitivity@sex=F,auroc",
               "--attribute", "sex", "--group", "F", "--share", "0.2", "--format", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["hidden"] == int(np.floor(0.2 * document["positives"] + 0.5))
    assert len(document["entries"]) == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--metrics", "auroc,aucroc"], "unknown metric 'aucroc'"),
        (["--metrics", "auroc@worst(age)"], "unknown attribute 'age'"),
        (["--ranking", "worst_group"], "needs the attribute"),
        (["--attributes", "age"], "unknown attribute age"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_no_traceback(files, argv, message):
    truth, paths = files
    done = run("leaderboard", "--truth", truth, *paths, "--bootstrap", "0", *argv)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
