"""expected_cost and net_benefit on real data: scikit-learn's breast-cancer set (569 tumours,
malignant = positive) scored by a logistic regression, against scikit-learn's confusion_matrix
and the formulas by hand, to 1e-12; and the costs as the CLI and the leaderboard take them."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from scoring import evaluate, read_predictions, read_truth
from scoring.cli import INVALID_INPUT, main
from scoring.compare import compare_entries
from scoring.error_costs import ErrorCosts, parse_costs
from scoring.errors import InputError
from scoring.field import Field
from scoring.io import Predictions
from scoring.leaderboard import compute_leaderboard

TOLERANCE = 1e-12
THRESHOLD = 0.3
COSTS = ErrorCosts(fn=5.0, fp=1.0)


@pytest.fixture(scope="module")
def tumours(tmp_path_factory):
    """(truth CSV path, predictions CSV path, labels, scores): a deliberately weak model (two
    features) so that both kinds of error occur at the threshold."""
    data = load_breast_cancer()
    labels = (data.target == 0).astype(int)  # scikit-learn codes malignant as 0
    features = data.data[:, [0, 1]]
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(features, labels)
    scores = model.predict_proba(features)[:, 1]
    ids = [f"t{i:03d}" for i in range(len(labels))]
    folder = tmp_path_factory.mktemp("tumours")
    truth = folder / "truth.csv"
    size = np.where(data.data[:, 0] > np.median(data.data[:, 0]), "large", "small")
    pd.DataFrame({"case_id": ids, "label": labels, "size": size}).to_csv(truth, index=False)
    predictions = folder / "model.csv"
    pd.DataFrame({"case_id": ids, "score": scores}).to_csv(predictions, index=False)
    return truth, predictions, labels, scores


def _oracle(labels, scores, costs):
    tn, fp, fn, tp = confusion_matrix(labels, scores >= THRESHOLD, labels=[0, 1]).ravel()
    n = len(labels)
    return {
        "expected_cost": (costs.fn * fn + costs.fp * fp) / n,
        "net_benefit": tp / n - fp / n * THRESHOLD / (1 - THRESHOLD),
    }


def test_expected_cost_and_net_benefit_match_the_confusion_matrix_overall_and_per_group(tumours):
    truth_path, predictions_path, labels, scores = tumours
    truth = read_truth(truth_path)
    result = evaluate(truth, read_predictions(predictions_path, truth), threshold=THRESHOLD,
                      costs=COSTS, metrics=["expected_cost", "net_benefit"])
    expected = _oracle(labels, scores, COSTS)
    assert 0 < expected["expected_cost"] < 1  # both errors occur: a real test
    for metric, value in expected.items():
        assert result.value(metric) == pytest.approx(value, abs=TOLERANCE)
    size = np.asarray(truth.attributes["size"])
    for group in ("large", "small"):
        mask = size == group
        for metric, value in _oracle(labels[mask], scores[mask], COSTS).items():
            assert result.group("size", group).value(metric) == pytest.approx(
                value, abs=TOLERANCE)


def test_without_costs_the_expected_cost_is_the_error_rate(tumours):
    truth_path, predictions_path, labels, scores = tumours
    truth = read_truth(truth_path)
    result = evaluate(truth, read_predictions(predictions_path, truth), threshold=THRESHOLD,
                      metrics=["expected_cost", "accuracy"], attributes=[])
    assert result.value("expected_cost") == pytest.approx(
        np.mean((scores >= THRESHOLD) != labels), abs=TOLERANCE)
    assert result.value("expected_cost") == pytest.approx(1 - result.value("accuracy"),
                                                          abs=TOLERANCE)


def test_costlier_misses_rank_a_sensitive_entry_above_a_specific_one(tumours):
    """The same scores at two thresholds: with misses five times a false alarm, the lower
    threshold (more positives found) has the lower expected cost on the leaderboard too."""
    truth_path, _, labels, scores = tumours
    field = Field(
        names=["sensitive", "specific"], labels=labels,
        scores=np.vstack([scores, scores]), attributes={},
        decisions=np.vstack([scores >= 0.2, scores >= 0.8]).astype(int),
        columns=["expected_cost"], ranking="primary", costs=COSTS, threshold=THRESHOLD,
    )
    board = compute_leaderboard(field, bootstrap=0).to_dict()
    values = {row["name"]: row["metrics"]["expected_cost"] for row in board["entries"]}
    for name, cut in (("sensitive", 0.2), ("specific", 0.8)):
        tn, fp, fn, tp = confusion_matrix(labels, scores >= cut).ravel()
        assert values[name] == pytest.approx((5 * fn + fp) / len(labels), abs=1e-6)
    assert [row["name"] for row in board["entries"]] == ["sensitive", "specific"]


def test_the_pairwise_comparison_weighs_errors_by_the_costs(tumours):
    truth_path, _, labels, scores = tumours
    truth = read_truth(truth_path)
    entries = [Predictions("binary", scores=scores, labels=(scores >= cut).astype(np.int64))
               for cut in (0.2, 0.8)]
    result = compare_entries(truth, entries, ["sensitive", "specific"], metric="expected_cost",
                             threshold=THRESHOLD, costs=COSTS, bootstrap=10)
    cost = {}
    for name, cut in (("sensitive", 0.2), ("specific", 0.8)):
        tn, fp, fn, tp = confusion_matrix(labels, scores >= cut).ravel()
        cost[name] = (5 * fn + fp) / len(labels)
    pair = result.pairs[0]
    assert result.entries == ("sensitive", "specific")  # lower cost first
    assert pair.difference == pytest.approx(cost[pair.a] - cost[pair.b], abs=1e-6)


def _cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


def test_the_cli_takes_the_costs_as_fn_and_fp(tumours):
    truth_path, predictions_path, labels, scores = tumours
    status, out, _ = _cli("evaluate", "--truth", str(truth_path), "--predictions",
                          str(predictions_path), "--threshold", str(THRESHOLD),
                          "--costs", "fp=1, fn=5", "--metrics", "expected_cost",
                          "--bootstrap", "0", "--format", "json")
    assert status == 0
    value = json.loads(out)["overall"]["expected_cost"]["value"]
    assert value == pytest.approx(_oracle(labels, scores, COSTS)["expected_cost"], abs=1e-12)


@pytest.mark.parametrize("text, message", [
    ("fn=5", "give the cost fp too"),
    ("fn=-1,fp=1", "must be a positive number"),
    ("fn=0,fp=1", "must be a positive number"),
    ("fn=five,fp=1", "must be a number, got 'five'"),
    ("miss=5,fp=1", "cannot read 'miss=5'"),
    ("fn=1,fn=2,fp=1", "given twice"),
    ("fn=inf,fp=1", "must be a positive number"),
])
def test_bad_costs_are_refused_with_a_message(text, message):
    with pytest.raises(InputError, match=message):
        parse_costs(text)


def test_the_cli_refuses_bad_costs_as_a_usage_error(tumours):
    truth_path, predictions_path, _, _ = tumours
    with pytest.raises(SystemExit) as exit_info, contextlib.redirect_stderr(io.StringIO()) as err:
        main(["evaluate", "--truth", str(truth_path), "--predictions", str(predictions_path),
              "--costs", "fn=0,fp=1"])
    assert exit_info.value.code == 2 == INVALID_INPUT
    assert "must be a positive number" in err.getvalue()


def test_evaluate_refuses_costs_that_are_not_positive(tumours):
    truth_path, predictions_path, _, _ = tumours
    truth = read_truth(truth_path)
    with pytest.raises(InputError, match="false positive"):
        evaluate(truth, read_predictions(predictions_path, truth), costs=ErrorCosts(1, -2))
