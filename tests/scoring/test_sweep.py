"""The score sweep's order (one integer sort of the scores' leading bits and the case index,
then a finer pass where leading bits agree) equals numpy's stable descending argsort: ties
by case index, −0.0 tied with 0.0, infinities, NaNs, and scores that differ only in the bits
the index displaced."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.tallies import descending_sweep

EPS = np.finfo(np.float64).eps


def _reference(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, kind="stable")
    ordered = scores[order]
    block = np.zeros(len(scores), np.int64)
    np.cumsum(ordered[1:] != ordered[:-1], out=block[1:])
    return order, block


def _assert_sweep(scores: np.ndarray) -> None:
    sweep = descending_sweep(scores, scores > 0)
    order, block = _reference(scores)
    assert np.array_equal(sweep.order, order)
    assert np.array_equal(sweep.block, block)
    assert np.array_equal(sweep.scores, scores[order], equal_nan=True)


_special = st.sampled_from([0.0, -0.0, np.inf, -np.inf, 5e-324, -5e-324, 1e-300, -1e300, 1.0,
                            -1.0, 0.5])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_special, st.floats(allow_nan=False)), max_size=300))
def test_the_sweep_order_is_the_stable_descending_argsort(values):
    _assert_sweep(np.array(values, dtype=np.float64))


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 3000), spread=st.integers(1, 5000), sign=st.sampled_from([1, -1]),
       seed=st.integers(0, 2**16))
def test_scores_a_few_units_in_the_last_place_apart_are_put_in_order(n, spread, sign, seed):
    """The index takes the lowest bits of the sort key, so scores within 2**bits units in the
    last place share their leading bits: the finer pass must order them."""
    rng = np.random.default_rng(seed)
    _assert_sweep(sign * (1.0 + rng.integers(0, spread, n) * EPS))


def test_nan_scores_sort_last_as_in_numpy():
    _assert_sweep(np.array([0.3, np.nan, 0.7, 0.3, np.nan, -0.0, 0.0]))


def test_a_million_rounded_scores():
    rng = np.random.default_rng(7)
    _assert_sweep(np.round(rng.random(1_000_000), 6))
