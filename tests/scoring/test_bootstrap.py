"""Bootstrap intervals: per-resample metrics equal scikit-learn's with resample weights, and
results are reproducible from a seed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from scoring import evaluate, read_predictions, read_truth
from scoring.bootstrap import percentile_intervals, resample_seeds
from scoring.contributions import Stats, build_design
from scoring.groups import build_grouping
from scoring.metrics import BUILTIN
from scoring.tallies import resample_counts, tally
from tests.scoring.conftest import csv_bytes

RESAMPLES = 20


@pytest.fixture(scope="module")
def resampled(binary_truth, binary_predictions):
    grouping = build_grouping(binary_truth.n, binary_truth.attributes, ["sex", "age_band"], [])
    design = build_design(binary_truth, binary_predictions, threshold=0.5)
    cols, vals = design.matrix()
    seeds = resample_seeds(7, RESAMPLES)
    tallies = tally(cell=grouping.cell, cell_group=grouping.cell_group,
                    n_groups=grouping.n_groups, cols=cols, vals=vals, n_stats=design.n_stats,
                    sweeps=design.sweeps, seeds=seeds)
    return grouping, Stats(tallies, design), seeds


def test_each_resample_equals_scikit_learn_with_the_resample_weights(
    binary_truth, binary_predictions, resampled
):
    grouping, stats, seeds = resampled
    metrics = {m.id: m.compute(stats) for m in BUILTIN if m.task == "binary"}
    y, s = binary_truth.labels, binary_predictions.scores
    d = (s >= 0.5).astype(int)
    # Resample streams draw positions in the order of the score sweep (see tally()).
    renumber = np.empty(binary_truth.n, np.int64)
    renumber[stats.design.sweeps[0].order] = np.arange(binary_truth.n)
    for b in (0, RESAMPLES - 1):
        weights = resample_counts(int(seeds[b]), binary_truth.n)[renumber]
        for g, members in ((0, slice(None)), (grouping.partitions[1].groups[0],
                                               grouping.partitions[1].case_group == 1)):
            w = weights[members]
            yg, sg, dg = y[members], s[members], d[members]
            assert metrics["auroc"][b, g] == pytest.approx(
                sk.roc_auc_score(yg, sg, sample_weight=w), abs=1e-9)
            assert metrics["auprc"][b, g] == pytest.approx(
                sk.average_precision_score(yg, sg, sample_weight=w), abs=1e-9)
            assert metrics["mcc"][b, g] == pytest.approx(
                sk.matthews_corrcoef(yg, dg, sample_weight=w), abs=1e-9)
            assert metrics["log_loss"][b, g] == pytest.approx(
                sk.log_loss(yg, sg, sample_weight=w), abs=1e-9)


def test_resampling_draws_n_cases_with_replacement():
    counts = resample_counts(12345, 100_000)
    assert counts.sum() == 100_000
    # Multinomial(n, 1/n): mean 1, variance 1 - 1/n, about 36.8% of cases never drawn.
    assert counts.var() == pytest.approx(1, abs=0.02)
    assert (counts == 0).mean() == pytest.approx(np.exp(-1), abs=0.01)


def test_intervals_are_percentiles_over_defined_resamples_only():
    values = np.array([[1.0, np.nan], [2.0, 1.0], [3.0, 2.0], [4.0, 3.0]] * 10)
    lower, upper = percentile_intervals(values)
    assert lower[0] == pytest.approx(np.percentile(values[:, 0], 2.5))
    assert upper[0] == pytest.approx(np.percentile(values[:, 0], 97.5))
    assert np.isnan(lower[1]) and np.isnan(upper[1])  # 25% undefined


def test_intervals_are_null_when_a_group_rarely_has_the_metric(binary_truth, binary_predictions):
    result = evaluate(binary_truth, binary_predictions, bootstrap=50, metrics=["auroc"],
                      attributes=["chapter"])
    blood = result.group("chapter", "Blood")
    assert blood.value("auroc") is None
    assert result.metric("auroc").ci[0] < result.value("auroc")


@st.composite
def small_submissions(draw):
    n = draw(st.integers(2, 40))
    labels = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    scores = draw(st.lists(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]), min_size=n, max_size=n))
    sexes = draw(st.lists(st.sampled_from(["F", "M", ""]), min_size=n, max_size=n))
    truth = "case_id,label,sex\n" + "".join(
        f"c{i},{label},{sex}\n" for i, (label, sex) in enumerate(zip(labels, sexes, strict=True)))
    predictions = "case_id,score\n" + "".join(f"c{i},{s}\n" for i, s in enumerate(scores))
    return truth.encode(), predictions.encode(), draw(st.integers(0, 2**32))


@settings(max_examples=25, deadline=None)
@given(small_submissions())
def test_bootstrap_is_reproducible_with_a_seed(submission):
    import io

    truth_bytes, prediction_bytes, seed = submission
    truth = read_truth(io.BytesIO(truth_bytes))
    predictions = read_predictions(io.BytesIO(prediction_bytes), truth)
    first = evaluate(truth, predictions, bootstrap=30, seed=seed, min_group=1)
    second = evaluate(truth, predictions, bootstrap=30, seed=seed, min_group=1)
    assert first == second
    for entry in [first.overall, *(g.metrics for g in first.groups)]:
        for value in entry.values():
            if value.ci is not None:
                assert value.ci[0] <= value.ci[1]


def test_a_different_seed_gives_different_intervals(flchain):
    truth = read_truth(csv_bytes(flchain[["case_id", "label", "sex"]]))
    predictions = read_predictions(csv_bytes(flchain[["case_id", "score"]]), truth)
    first = evaluate(truth, predictions, bootstrap=40, seed=1, metrics=["auroc"])
    second = evaluate(truth, predictions, bootstrap=40, seed=2, metrics=["auroc"])
    assert first.value("auroc") == second.value("auroc")
    assert first.metric("auroc").ci != second.metric("auroc").ci


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 300),
    distinct=st.integers(1, 12),
    seed=st.integers(0, 2**16),
)
def test_the_numpy_point_tally_equals_the_compiled_kernel(n, distinct, seed):
    """Point estimates are tallied in numpy (no numba load); with a median wanted the rank
    sums come from the compiled walks instead. Both give the same sums, pair sums and
    precision sums, ties and empty groups included."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    scores = rng.integers(0, distinct, n) / distinct  # many ties
    attributes = {"a": rng.choice(["x", "y", "z"], n).astype(object),
                  "b": rng.choice(["u", "v"], n).astype(object)}
    from scoring.io import Predictions, Truth

    truth = Truth(case_ids=np.arange(n).astype(str).astype(object), labels=labels,
                  attributes=attributes, split=None, task="binary")
    predictions = Predictions(task="binary", scores=scores)
    grouping = build_grouping(n, attributes, ["a", "b"], [("a", "b")])
    design = build_design(truth, predictions, threshold=0.5)
    cols, vals = design.matrix()
    common = {"cell": grouping.cell, "cell_group": grouping.cell_group,
              "n_groups": grouping.n_groups, "cols": cols, "vals": vals,
              "n_stats": design.n_stats, "sweeps": design.sweeps}
    point = tally(**common)
    compiled = tally(**common, medians=[scores])
    np.testing.assert_allclose(point.sums, compiled.sums, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(point.auc, compiled.auc, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(point.ap, compiled.ap, rtol=1e-12, atol=1e-12)
