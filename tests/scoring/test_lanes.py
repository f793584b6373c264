"""The lane tally (every resample side by side in one walk over the cases, uint8 counts) gives
the sums of the per-resample kernel bit for bit: counts, confusion cells, Brier and log-loss
sums, rank and precision sums, medians, with ties, empty groups, several sweeps, and lanes
whose counts overflow (forced with a tiny cap) redone alone."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import tallies
from scoring.bootstrap import resample_seeds
from scoring.contributions import build_design
from scoring.groups import build_grouping
from scoring.io import Predictions, Truth


def _binary(n: int, distinct: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, distinct, n) / distinct  # many ties
    attributes = {"a": rng.choice(["x", "y", "z"], n).astype(object),
                  "b": rng.choice(["u", "v"], n).astype(object)}
    truth = Truth(case_ids=np.arange(n).astype(str).astype(object),
                  labels=rng.integers(0, 2, n), attributes=attributes, split=None,
                  task="binary")
    design = build_design(truth, Predictions(task="binary", scores=scores), threshold=0.5)
    grouping = build_grouping(n, attributes, ["a", "b"], [("a", "b")])
    return {"cell": grouping.cell, "cell_group": grouping.cell_group,
            "n_groups": grouping.n_groups, "cols": design.cols, "vals": design.vals,
            "n_stats": design.n_stats, "sweeps": design.sweeps, "medians": [scores]}


def _multiclass(n: int, seed: int) -> dict:
    """Three sweeps (one per class), so two of them walk the cases out of position order."""
    rng = np.random.default_rng(seed)
    classes = ("a", "b", "c")
    probabilities = np.round(rng.dirichlet(np.ones(3), n), 1)
    attributes = {"s": rng.choice(["f", "m"], n).astype(object)}
    truth = Truth(case_ids=np.arange(n).astype(str).astype(object),
                  labels=np.array(classes)[rng.integers(0, 3, n)], attributes=attributes,
                  split=None, task="multiclass", classes=classes)
    predictions = Predictions(task="multiclass", probabilities=probabilities,
                              labels=np.array(classes)[probabilities.argmax(axis=1)])
    design = build_design(truth, predictions, threshold=0.5)
    grouping = build_grouping(n, attributes, ["s"], [])
    cols, vals = design.matrix()  # the (cases, width) form that tally() also takes
    return {"cell": grouping.cell, "cell_group": grouping.cell_group,
            "n_groups": grouping.n_groups, "cols": cols, "vals": vals,
            "n_stats": design.n_stats, "sweeps": design.sweeps}


def _assert_identical(lanes: tallies.Tallies, reference: tallies.Tallies) -> None:
    for name in ("sums", "auc", "ap", "medians"):
        got, want = getattr(lanes, name), getattr(reference, name)
        assert got.shape == want.shape, name
        assert np.array_equal(got, want, equal_nan=True), name


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 200), distinct=st.integers(1, 12), resamples=st.integers(1, 40),
       seed=st.integers(0, 2**16))
def test_the_lane_tally_equals_one_walk_per_resample(n, distinct, resamples, seed):
    common = _binary(n, distinct, seed)
    seeds = resample_seeds(seed, resamples)
    _assert_identical(tallies.tally(**common, seeds=seeds),
                      tallies.tally(**common, seeds=seeds, lanes=False))


def test_the_lane_tally_equals_one_walk_per_resample_with_several_sweeps():
    common = _multiclass(500, 3)
    seeds = resample_seeds(3, 70)  # three chunks of lanes, the last padded
    _assert_identical(tallies.tally(**common, seeds=seeds),
                      tallies.tally(**common, seeds=seeds, lanes=False))


@pytest.mark.parametrize("cap", [1, 2])
def test_lanes_whose_counts_overflow_are_redone_alone(monkeypatch, cap):
    """With 6 cases, almost every resample draws some case twice or more: a cap of 1 or 2
    sends those lanes (and only those) to the per-resample kernel."""
    common = _binary(6, 3, 11)
    seeds = resample_seeds(11, 30)
    redone = []
    per_resample = tallies._per_resample

    def spy(lane_seeds, resample, *args):
        if resample:
            redone.append(len(lane_seeds))
        return per_resample(lane_seeds, resample, *args)

    monkeypatch.setattr(tallies, "_per_resample", spy)
    capped = tallies.tally(**common, seeds=seeds, cap=cap)
    wide = [tallies.resample_counts(int(s), 6).max() for s in seeds]
    assert redone == [sum(count > cap for count in wide)]
    assert 0 < redone[0] <= len(seeds)
    monkeypatch.setattr(tallies, "_per_resample", per_resample)
    _assert_identical(capped, tallies.tally(**common, seeds=seeds, lanes=False))


@pytest.mark.parametrize("path", ["numpy", "compiled walks", "with medians"])
def test_the_point_estimate_is_the_kernels_walk_with_every_weight_one(monkeypatch, path):
    """The point tally (numpy sums in case order; the rank sums in numpy below a million
    cases, else and with medians from the compiled walks) against the per-resample kernel
    walking the cases in sweep order with every count 1: whole-number sums and pair sums bit
    for bit, the real-valued sums (Brier, log loss) to rounding; the compiled walks' precision
    sums and medians bit for bit too (the same additions in the same order)."""
    if path == "compiled walks":
        monkeypatch.setattr(tallies, "NUMPY_CASES", 0)
    common = _binary(300, 7, 5)
    if path != "with medians":
        common["medians"] = []
    point = tallies.tally(**common)
    walked = tallies._per_resample(
        np.zeros(1, np.uint64), False, common["n_groups"], common["n_stats"],
        tallies._sweep_ordered(common["cell"], common["cell_group"], *tallies._columns(
            common["cols"], common["vals"]), common["sweeps"], common["medians"]),
    )
    whole = np.all(walked.sums == np.round(walked.sums), axis=(0, 1))
    assert whole.sum() >= 20 and not whole.all()  # counts and confusion cells; and the rest
    assert np.array_equal(point.sums[..., whole], walked.sums[..., whole])
    np.testing.assert_allclose(point.sums, walked.sums, rtol=1e-13)
    assert np.array_equal(point.auc, walked.auc)
    assert point.medians.shape == walked.medians.shape
    if path == "numpy":
        np.testing.assert_allclose(point.ap, walked.ap, rtol=1e-13)
    else:
        assert np.array_equal(point.ap, walked.ap)
        assert np.array_equal(point.medians, walked.medians, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 400), distinct=st.integers(1, 50), seed=st.integers(0, 2**16))
def test_the_sweep_order_is_the_stable_descending_sort(n, distinct, seed):
    """Resample streams number the cases in sweep order, so it must stay exactly the stable
    sort (tied cases by index), however it is computed."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, distinct, n) / distinct
    scores[rng.random(n) < 0.1] = -0.0  # ties with 0.0
    sweep = tallies.descending_sweep(scores, scores > 0.5)
    expected = np.argsort(-scores, kind="stable")
    assert np.array_equal(sweep.order, expected)
    ordered = scores[expected]
    blocks = np.concatenate(([0], np.cumsum(ordered[1:] != ordered[:-1]))) if n else []
    assert np.array_equal(sweep.block, blocks)
