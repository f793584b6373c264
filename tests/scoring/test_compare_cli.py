"""``python -m scoring compare`` on flchain files: the same comparison as the library, a table
in rank order, and refusals with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scoring.cli import main
from scoring.compare import compare_entries
from scoring.io import read_predictions, read_truth

BOOTSTRAP = "50"


@pytest.fixture(scope="module")
def field(flchain, tmp_path_factory):
    """A ground truth with a public/private split, one without, and three entries: the shared
    logistic model, age alone and the model's scores with noise."""
    folder = tmp_path_factory.mktemp("compare")
    truth = folder / "truth.csv"
    split = np.where(np.arange(len(flchain)) % 3 == 0, "private", "public")
    flchain[["case_id", "label", "sex"]].assign(split=split).to_csv(truth, index=False)
    unsplit = folder / "unsplit.csv"
    flchain[["case_id", "label", "sex"]].to_csv(unsplit, index=False)
    age = (flchain["age"] - flchain["age"].min()) / np.ptp(flchain["age"])
    noise = np.random.default_rng(0).normal(0, 0.2, len(flchain))
    entries = {
        "logit": flchain[["case_id", "score"]],
        "age": flchain[["case_id"]].assign(score=age.round(3)),
        "noisy": flchain[["case_id"]].assign(score=(flchain["score"] + noise).clip(0, 1).round(3)),
    }
    paths = []
    for name, frame in entries.items():
        path = folder / (f"{name}.csv.gz" if name == "logit" else f"{name}.csv")
        frame.to_csv(path, index=False)
        paths.append(str(path))
    return str(truth), str(unsplit), paths


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def library(truth_path, paths, names, **options):
    truth = read_truth(truth_path)
    predictions = [read_predictions(path, truth) for path in paths]
    return compare_entries(truth, predictions, names, **options)


@pytest.mark.parametrize("metric", ["auroc", "accuracy", "brier", "sensitivity"])
def test_compare_json_is_the_library_comparison_of_the_same_files(field, capsys, metric):
    truth, _, paths = field

    code, out, _ = run(capsys, "compare", "--truth", truth, *paths, "--metric", metric,
                       "--bootstrap", BOOTSTRAP, "--seed", "3", "--threshold", "0.3",
                       "--format", "json")

    assert code == 0
    expected = library(truth, paths, ["logit", "age", "noisy"], metric=metric, threshold=0.3,
                       bootstrap=50, seed=3)
    assert json.loads(out) == expected.to_dict()


def test_compare_on_the_public_split_uses_only_public_cases(field, capsys):
    truth, _, paths = field

    code, out, _ = run(capsys, "compare", "--truth", truth, *paths, "--metric", "auroc",
                       "--split", "public", "--alpha", "0.01", "--bootstrap", BOOTSTRAP,
                       "--format", "json")

    assert code == 0
    public = np.asarray(read_truth(truth).split) == "public"
    expected = library(truth, paths, ["logit", "age", "noisy"], metric="auroc", cases=public,
                       alpha=0.01, bootstrap=50)
    assert json.loads(out) == expected.to_dict()
    everything = library(truth, paths, ["logit", "age", "noisy"], metric="auroc", bootstrap=50)
    assert json.loads(out) != everything.to_dict()


def test_compare_table_lists_entries_in_rank_order_and_one_row_per_pair(field, capsys):
    truth, _, paths = field

    code, out, _ = run(capsys, "compare", "--truth", truth, *paths, "--metric", "auroc",
                       "--bootstrap", BOOTSTRAP)

    assert code == 0
    result = library(truth, paths, ["logit", "age", "noisy"], metric="auroc", bootstrap=50)
    assert f"entries in rank order: {', '.join(result.entries)}" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("a "))
    assert lines[header].split() == ["a", "b", "difference", "95%", "CI", "test", "p", "p_holm",
                                     "significant"]
    rows = [line.split() for line in lines[header + 2:] if line]
    assert [(row[0], row[1]) for row in rows] == [(p.a, p.b) for p in result.pairs]
    assert all(row[5] == "delong" for row in rows)


def test_compare_refuses_zero_bootstrap_resamples(field, capsys):
    truth, _, paths = field
    code, out, err = run(capsys, "compare", "--truth", truth, *paths, "--metric", "auroc",
                         "--bootstrap", "0")
    assert code == 2 and out == ""
    assert "bootstrap must be a positive number of resamples" in err
    assert "Traceback" not in err


def test_compare_refuses_two_files_with_the_same_stem(field, tmp_path, capsys):
    truth, _, paths = field
    other = tmp_path / "age.csv"
    other.write_bytes(Path(paths[1]).read_bytes())
    code, _, err = run(capsys, "compare", "--truth", truth, paths[1], str(other), "--metric",
                       "auroc", "--bootstrap", BOOTSTRAP)
    assert code == 2
    assert "entry names appear more than once: age" in err


def test_compare_refuses_a_split_when_the_truth_has_no_split_column(field, capsys):
    _, unsplit, paths = field
    code, _, err = run(capsys, "compare", "--truth", unsplit, *paths, "--metric", "auroc",
                       "--split", "private", "--bootstrap", BOOTSTRAP)
    assert code == 2
    assert "--split private needs a 'split' column in the ground truth" in err


def test_compare_refuses_an_unknown_metric(field, capsys):
    truth, _, paths = field
    code, _, err = run(capsys, "compare", "--truth", truth, *paths, "--metric", "dice",
                       "--bootstrap", BOOTSTRAP)
    assert code == 2
    assert "unknown metric 'dice'" in err
