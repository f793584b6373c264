"""The typed result of ``evaluate``: it round-trips through the JSON the web app stores, reads
rows stored before every key existed, and its readers agree with the stored document."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from scoring import evaluate, read_predictions, read_truth
from scoring.result import MetricValue, SplitResult, read_stored
from tests.scoring.conftest import csv_bytes

CLASSES = ["low", "mid", "high"]


@pytest.fixture(scope="module")
def binary_result(binary_truth, binary_predictions) -> SplitResult:
    # Bootstrap on a one-class group gives ci_reason; intersections and small groups appear too.
    return evaluate(binary_truth, binary_predictions, bootstrap=20, min_group=100,
                    intersections=[("sex", "creatinine")])


@pytest.fixture(scope="module")
def multiclass_result(flchain) -> SplitResult:
    data = flchain.assign(label=pd.qcut(flchain["age"], 3, labels=CLASSES).astype(str))
    probabilities = np.random.default_rng(0).dirichlet([1, 1, 1], len(data))
    submitted = data[["case_id"]].assign(
        label=np.array(CLASSES)[probabilities.argmax(axis=1)],
        **{f"p_{c}": probabilities[:, i] for i, c in enumerate(CLASSES)},
    )
    truth = read_truth(csv_bytes(data[["case_id", "label", "sex", "chapter"]]),
                       task="multiclass", classes=CLASSES)
    predictions = read_predictions(csv_bytes(submitted), truth, task="multiclass")
    return evaluate(truth, predictions, bootstrap=10)


@pytest.fixture(scope="module")
def regression_result(flchain) -> SplitResult:
    data = flchain.assign(label=flchain["age"], value=flchain["age"] + 10 * flchain["score"])
    truth = read_truth(csv_bytes(data[["case_id", "label", "sex", "age_band"]]),
                       task="regression")
    predictions = read_predictions(csv_bytes(data[["case_id", "value"]]), truth,
                                   task="regression")
    return evaluate(truth, predictions, bootstrap=10, min_group=1)


@pytest.mark.parametrize("name", ["binary_result", "multiclass_result", "regression_result"])
def test_a_result_survives_the_json_the_web_app_stores(name, request):
    result = request.getfixturevalue(name)
    stored = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert SplitResult.from_dict(stored) == result
    assert SplitResult.from_dict(stored).to_dict() == stored


def test_the_stored_document_has_the_documented_keys(binary_result):
    document = binary_result.to_dict()
    assert list(document) == ["task", "n_cases", "threshold", "overall", "groups", "fairness",
                              "parity"]
    assert list(document["groups"][0]) == ["attribute", "group", "n", "small", "suppressed",
                                           "metrics"]
    assert any("ci_reason" in value for g in document["groups"] for value in g["metrics"].values())
    assert set(document["parity"]["sex"]) >= {"demographic_parity_difference",
                                              "equalized_odds_difference", "score_wasserstein"}


def test_the_readers_agree_with_the_stored_document(binary_result):
    document = binary_result.to_dict()
    female = next(g for g in document["groups"] if (g["attribute"], g["group"]) == ("sex", "F"))
    assert binary_result.group("sex", "F").to_dict() == female
    assert binary_result.group("sex", "nobody") is None
    assert binary_result.value("auroc") == document["overall"]["auroc"]["value"]
    assert binary_result.metric("not_a_metric") is None
    assert [g.group for g in binary_result.groups_of("sex")] == ["F", "M"]
    assert binary_result.attributes == list(dict.fromkeys(g["attribute"]
                                                          for g in document["groups"]))
    assert binary_result.worst_group("sensitivity", "sex") == (
        document["fairness"]["sensitivity"]["sex"]["worst_group"])
    assert binary_result.worst_group("sensitivity", "no such attribute") is None


def test_a_row_stored_before_task_threshold_and_parity_existed_is_readable():
    # The shape of early rows (and of hand-built fixtures): no task, threshold, parity, ratio,
    # reasons or small flag on every group.
    legacy = {
        "n_cases": 100,
        "overall": {"auroc": {"value": 0.8, "ci": [0.75, 0.85]},
                    "sensitivity": {"value": None, "ci": None}},
        "groups": [
            {"attribute": "sex", "group": "F", "n": 50,
             "metrics": {"auroc": {"value": 0.7, "ci": None}}},
            {"attribute": "sex", "group": "M", "n": 5, "small": True, "metrics": {}},
        ],
        "fairness": {"sensitivity": {"sex": {"worst_group": "F"}}},
    }
    result = SplitResult.from_dict(legacy)
    assert result.task is None and result.threshold is None and result.parity == {}
    assert result.metric("auroc") == MetricValue(value=0.8, ci=(0.75, 0.85))
    assert result.value("sensitivity") is None
    assert result.group("sex", "F").value("auroc") == 0.7
    assert result.group("sex", "F").small is False
    assert result.group("sex", "M").small is True
    # F is the only other group of sex: hidden with the small M, so the old summary naming it
    # reads as undefined until the submission is rescored.
    assert result.group("sex", "F").suppressed and result.group("sex", "M").suppressed
    assert result.fairness_of("sensitivity", "sex").worst_group is None
    assert result.worst_group("sensitivity", "sex") is None
    assert json.dumps(result.to_dict(), allow_nan=False)


def test_a_stored_submission_without_private_cases_reads_as_its_public_result(binary_result):
    stored = {"public": binary_result.to_dict(), "private": None}
    assert read_stored(stored) == {"public": binary_result}
    assert read_stored(None) == {}
