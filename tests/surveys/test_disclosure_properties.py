"""Withholding rare combinations, checked against a hand count of the cells as exported."""

from __future__ import annotations

from collections import Counter

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys.disclosure import protect

CELL = st.one_of(st.none(), st.integers(1, 3))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(CELL, CELL, CELL), min_size=1, max_size=30),
    threshold=st.integers(2, 5),
)
def test_every_row_left_in_a_small_group_shows_nothing_and_k_is_the_hand_count(rows, threshold):
    frame = pd.DataFrame(rows, columns=["a", "b", "c"], dtype=object)
    groups = {"a": ["a"], "b": ["b"], "c": ["c"]}
    out, report, withheld = protect(frame, groups, threshold)

    def shown(table):
        return [tuple(None if pd.isna(v) else v for v in row) for row in table.itertuples(False)]

    before, after = Counter(shown(frame)), Counter(shown(out))
    assert report.k_before == min(before.values())
    assert report.k == min(after.values())
    for row in shown(out):
        if after[row] < threshold:
            assert row == (None, None, None)
    # Only withheld cells changed, and a withheld cell is empty.
    for name, labels in withheld.items():
        assert out.loc[labels, name].isna().all()
    for column in frame.columns:
        kept = out[column].notna()
        assert (out.loc[kept, column] == frame.loc[kept, column]).all()
