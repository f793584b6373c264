"""Several raters (``label_<rater>`` columns): read apart from the attributes, validated, their
agreement and every entry's per-rater scores checked against scikit-learn and statsmodels.

Real data: the flchain deaths (binary, ``conftest``) and scikit-learn's wine classes (multiclass),
with raters simulated by flipping a seeded share of the official labels (each rater its own
share, so they disagree as real readers do)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    cohen_kappa_score,
    f1_score,
    roc_auc_score,
)
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from scoring.errors import InputError
from scoring.evaluate import evaluate
from scoring.io import read_predictions, read_truth
from scoring.rater_columns import rater_columns
from scoring.raters import (
    agreement,
    human_ceiling,
    majority,
    rank_intervals,
    raters_report,
    score_references,
)
from tests.scoring.conftest import csv_bytes

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-12  # same formulas in floating point: only rounding differs


def flip(labels: np.ndarray, share: float, rng: np.random.Generator, classes) -> np.ndarray:
    """``labels`` with ``share`` of them replaced by another class, at random."""
    out = labels.copy()
    chosen = rng.random(len(labels)) < share
    for i in np.flatnonzero(chosen):
        out[i] = rng.choice([c for c in classes if c != labels[i]])
    return out


@pytest.fixture(scope="module")
def binary_frame(flchain) -> pd.DataFrame:
    rng = np.random.default_rng(19)
    frame = flchain[["case_id", "label", "sex"]].copy()
    for name, share in (("ann", 0.05), ("bob", 0.12), ("cy", 0.25)):
        frame[f"label_{name}"] = flip(frame["label"].to_numpy(), share, rng, (0, 1))
    frame["split"] = np.where(np.arange(len(frame)) % 4 == 0, "private", "public")
    return frame


@pytest.fixture(scope="module")
def binary(binary_frame, flchain):
    truth = read_truth(csv_bytes(binary_frame))
    rng = np.random.default_rng(5)
    entries = {}
    for name, noise in (("logit", 0.0), ("noisy", 0.15), ("noisier", 0.4)):
        score = np.clip(flchain["score"] + rng.normal(0, noise, len(flchain)), 0, 1).round(3)
        entries[name] = read_predictions(
            csv_bytes(flchain[["case_id"]].assign(score=score)), truth)
    return truth, entries


@pytest.fixture(scope="module")
def wine_frame() -> pd.DataFrame:
    data = load_wine()
    classes = ("c0", "c1", "c2")
    labels = np.array(classes, dtype=object)[data.target]
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"case_id": [f"w{i:03d}" for i in range(len(labels))],
                          "label": labels})
    for name, share in (("r1", 0.1), ("r2", 0.2), ("r3", 0.3), ("r4", 0.15)):
        frame[f"label_{name}"] = flip(labels, share, rng, classes)
    frame["alcohol"] = np.where(data.data[:, 0] > 13, "high", "low")
    return frame


def test_rater_columns_are_never_attributes(binary):
    truth, _entries = binary
    assert set(truth.attributes) == {"sex"}
    assert list(truth.raters) == ["label_ann", "label_bob", "label_cy"]
    assert rater_columns(["case_id", "label", "label_x", "site", "split"]) == (
        ["site"], ["label_x"])


def test_rater_columns_never_become_groups_in_the_evaluation(binary):
    truth, entries = binary
    result = evaluate(truth, entries["logit"], metrics=["auroc"], min_group=1)
    assert {group.attribute for group in result.groups} == {"sex"}


def test_pairwise_kappa_matches_scikit_learn_and_fleiss_matches_statsmodels(binary_frame,
                                                                            binary):
    truth, _entries = binary
    found = agreement(truth)
    for pair in found.pairwise:
        expected = cohen_kappa_score(binary_frame[f"label_{pair['a']}"],
                                     binary_frame[f"label_{pair['b']}"])
        assert abs(pair["kappa"] - expected) < TOLERANCE
    table, _categories = aggregate_raters(
        binary_frame[["label_ann", "label_bob", "label_cy"]].to_numpy())
    assert abs(found.fleiss - statsmodels_fleiss(table)) < TOLERANCE
    assert len(found.pairwise) == 3 and found.raters == ["ann", "bob", "cy"]


def test_multiclass_agreement_matches_the_oracles(wine_frame):
    truth = read_truth(csv_bytes(wine_frame), task="multiclass")
    found = agreement(truth)
    assert len(found.pairwise) == 6
    for pair in found.pairwise:
        expected = cohen_kappa_score(wine_frame[f"label_{pair['a']}"],
                                     wine_frame[f"label_{pair['b']}"])
        assert abs(pair["kappa"] - expected) < TOLERANCE
    columns = [f"label_{r}" for r in ("r1", "r2", "r3", "r4")]
    table, _categories = aggregate_raters(wine_frame[columns].to_numpy())
    assert abs(found.fleiss - statsmodels_fleiss(table)) < TOLERANCE
    # A hand count: the share of wines all four raters put in one class.
    same = (wine_frame[columns].nunique(axis=1) == 1).mean()
    assert found.unanimous == pytest.approx(same, abs=TOLERANCE)


def test_each_entry_scored_against_each_rater_as_scikit_learn_scores_it(binary_frame, binary):
    truth, entries = binary
    public = truth.split == "public"
    scores = score_references(truth, entries["noisy"], metrics=["auroc", "accuracy", "f1"],
                              cases=public)
    score = entries["noisy"].scores[public]
    for column in ("label", "label_ann", "label_bob", "label_cy"):
        y = binary_frame[column].to_numpy()[public]
        assert abs(scores[column]["auroc"] - roc_auc_score(y, score)) < 1e-9
        assert abs(scores[column]["accuracy"] - accuracy_score(y, score >= 0.5)) < TOLERANCE
        assert abs(scores[column]["f1"] - f1_score(y, score >= 0.5)) < TOLERANCE
    vote = binary_frame[["label_ann", "label_bob", "label_cy"]].sum(axis=1).to_numpy() >= 2
    assert abs(scores["majority"]["auroc"] - roc_auc_score(vote[public], score)) < 1e-9


def test_multiclass_entry_against_each_rater_and_the_majority(wine_frame):
    truth = read_truth(csv_bytes(wine_frame), task="multiclass")
    rng = np.random.default_rng(3)
    guess = flip(wine_frame["label"].to_numpy(), 0.2, rng, truth.classes)
    entry = read_predictions(csv_bytes(wine_frame[["case_id"]].assign(label=guess)), truth,
                             task="multiclass")
    scores = score_references(truth, entry, metrics=["accuracy", "balanced_accuracy"])
    for column in ("label", "label_r1", "label_r2", "label_r3", "label_r4"):
        y = wine_frame[column]
        assert abs(scores[column]["accuracy"] - accuracy_score(y, guess)) < TOLERANCE
        assert abs(scores[column]["balanced_accuracy"]
                   - balanced_accuracy_score(y, guess)) < TOLERANCE
    expected = majority(truth, "official")
    assert abs(scores["majority"]["accuracy"] - accuracy_score(expected, guess)) < TOLERANCE


def test_ties_go_by_the_organisers_rule():
    frame = pd.DataFrame({"case_id": ["a", "b", "c", "d"], "label": [1, 0, 0, 1],
                          "label_x": [1, 1, 0, 0], "label_y": [0, 0, 0, 1]})
    truth = read_truth(csv_bytes(frame))
    # a: 1-0 tie, b: 1-0 tie, c: 0-0 no tie, d: 0-1 tie.
    assert majority(truth, "official").tolist() == [1, 0, 0, 1]
    assert majority(truth, "positive").tolist() == [1, 1, 0, 1]
    assert majority(truth, "negative").tolist() == [0, 0, 0, 0]
    with pytest.raises(InputError, match="unknown tie rule 'coin'"):
        majority(truth, "coin")


def test_human_ceiling_scores_each_rater_against_the_other_raters(binary_frame, binary):
    truth, _entries = binary
    ceiling = human_ceiling(truth, metrics=["auroc", "accuracy", "brier"])
    assert ceiling["not_scored"] == ["brier"]
    ann = ceiling["raters"][0]
    assert ann["rater"] == "ann"
    others = binary_frame[["label_bob", "label_cy"]].to_numpy()
    # Two other raters: a tie (one each) goes to the official label.
    rest = np.where(others[:, 0] == others[:, 1], others[:, 0], binary_frame["label"])
    assert abs(ann["against_others"]["accuracy"]
               - accuracy_score(rest, binary_frame["label_ann"])) < TOLERANCE
    assert abs(ann["against_label"]["auroc"]
               - roc_auc_score(binary_frame["label"], binary_frame["label_ann"])) < 1e-9


def test_rank_intervals_count_the_raters_under_which_the_leader_stays_first():
    scores = {
        "a": {"label": {"m": 0.9}, "majority": {"m": 0.9}, "label_x": {"m": 0.9},
              "label_y": {"m": 0.5}, "label_z": {"m": 0.8}},
        "b": {"label": {"m": 0.8}, "majority": {"m": 0.8}, "label_x": {"m": 0.7},
              "label_y": {"m": 0.6}, "label_z": {"m": None}},
    }
    found = rank_intervals(scores, metric="m", higher_is_better=True)
    assert found.leaders == ["a"]
    assert found.ranks["b"] == {"label": 2, "majority": 2, "label_x": 2, "label_y": 1,
                                "label_z": 2}
    assert (found.low["a"], found.high["a"]) == (1, 2)
    assert found.leader_stays == pytest.approx(2 / 3)
    assert found.first_share["b"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("task, frame, message", [
    ("binary",
     pd.DataFrame({"case_id": ["a", "b", "c"], "label": [0, 1, 0],
                   "label_x": ["1", "2", "yes"]}),
     "2 label_x values are not 0 or 1 (true/false also accepted), first rows: 3, 4"),
    ("binary",
     pd.DataFrame({"case_id": ["a", "b"], "label": [0, 1], "label_x": ["", "1"]}),
     "1 label_x value is not 0 or 1 (true/false also accepted), first rows: 2"),
    ("multiclass",
     pd.DataFrame({"case_id": ["a", "b", "c"], "label": ["cat", "dog", "cat"],
                   "label_r": ["cat", "cow", "bird"]}),
     "2 label_r values are not one of the classes cat, dog, first rows: 3, 4"),
    ("regression",
     pd.DataFrame({"case_id": ["a"], "label": [1.5], "label_r": [2.0]}),
     "only binary and multiclass tasks have"),
])
def test_rater_values_outside_the_tasks_labels_are_refused_with_rows(task, frame, message):
    with pytest.raises(InputError) as caught:
        read_truth(csv_bytes(frame), task=task)
    assert any(message in problem for problem in caught.value.problems), caught.value.problems


def test_a_column_named_label_underscore_alone_names_no_rater():
    frame = pd.DataFrame({"case_id": ["a", "b"], "label": [0, 1], "label_": [0, 1]})
    with pytest.raises(InputError, match="names no rater"):
        read_truth(csv_bytes(frame))


def test_report_needs_a_rater():
    frame = pd.DataFrame({"case_id": ["a", "b"], "label": [0, 1]})
    truth = read_truth(csv_bytes(frame))
    entry = read_predictions(csv_bytes(frame[["case_id"]].assign(score=[0.2, 0.8])), truth)
    with pytest.raises(InputError, match="at least 1"):
        raters_report(truth, {"e": entry}, metrics=["auroc"])


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scoring", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def test_cli_prints_agreement_per_rater_scores_and_rank_intervals(binary_frame, binary,
                                                                  tmp_path):
    truth, entries = binary
    truth_path = tmp_path / "truth.csv"
    binary_frame.to_csv(truth_path, index=False)
    paths = []
    for name, entry in entries.items():
        path = tmp_path / f"{name}.csv"
        pd.DataFrame({"case_id": truth.case_ids, "score": entry.scores}).to_csv(path,
                                                                                 index=False)
        paths.append(str(path))
    done = run("raters", "--truth", str(truth_path), *paths, "--metrics", "auroc,accuracy",
               "--split", "public", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["references"] == ["label", "majority", "label_ann", "label_bob", "label_cy"]
    public = truth.split == "public"
    y = binary_frame["label_bob"].to_numpy()[public]
    assert abs(report["scores"]["noisy"]["label_bob"]["auroc"]
               - roc_auc_score(y, entries["noisy"].scores[public])) < 1e-9
    assert report["rank_intervals"][0]["leaders"] == ["logit"]
    assert report["ceiling"]["agreement"]["n_cases"] == int(public.sum())
    table = run("raters", "--truth", str(truth_path), *paths, "--metrics", "auroc")
    assert table.returncode == 0, table.stderr
    assert "Fleiss' kappa" in table.stdout and "best–worst" in table.stdout
    # The rater columns are no subgroup of the leaderboard either.
    board = run("leaderboard", "--truth", str(truth_path), *paths, "--metrics", "auroc",
                "--attributes", "label_ann", "--bootstrap", "0", "--format", "json")
    assert board.returncode == 2 and "label_ann" in board.stderr


def test_cli_with_bad_rater_values_exits_2_with_the_message(tmp_path):
    truth = tmp_path / "truth.csv"
    truth.write_text("case_id,label,label_x\na,0,0\nb,1,maybe\n")
    entry = tmp_path / "e.csv"
    entry.write_text("case_id,score\na,0.1\nb,0.9\n")
    done = run("raters", "--truth", str(truth), str(entry), "--metrics", "auroc")
    assert done.returncode == 2
    assert "1 label_x value is not 0 or 1" in done.stderr and "Traceback" not in done.stderr
