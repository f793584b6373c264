"""Seeded splits: reproducible, the asked share within every label, nothing else moved."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.splits import seeded_split


def test_the_split_is_reproducible_and_keeps_the_prevalence_of_real_labels(demo_data):
    labels = demo_data.truth["label"].to_numpy()
    split = seeded_split(labels, 0.3, seed=7)
    assert (split == seeded_split(labels, 0.3, seed=7)).all()
    assert not (split == seeded_split(labels, 0.3, seed=8)).all()
    for value in (0, 1):
        members = labels == value
        assert (split[members] == "private").sum() == round(0.3 * members.sum())


@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=200),
       st.floats(min_value=0, max_value=0.95), st.integers(0, 2**31))
def test_each_label_gets_its_rounded_share_of_private_cases(labels, share, seed):
    split = seeded_split(np.array(labels), share, seed)
    for value in set(labels):
        members = np.array(labels) == value
        assert (split[members] == "private").sum() == round(share * members.sum())


def test_a_share_of_one_or_more_is_refused():
    with pytest.raises(ValueError, match="below 1"):
        seeded_split(np.array([0, 1]), 1.0)
