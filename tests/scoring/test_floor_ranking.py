"""floor_then_primary against hand-computed rankings, and the paired bootstrap of changes
against a direct numpy computation on the same resample indices (issue 20)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.bootstrap import percentile_intervals, resample_seeds
from scoring.errors import InputError
from scoring.levelling import paired_change_intervals, paired_resamples
from scoring.ranking import FLOOR_THEN_PRIMARY, floor_then_primary, rank_entries
from scoring.tallies import resample_counts

NAN = math.nan


def test_meeting_entries_first_by_value_then_the_others_with_ties_and_nulls():
    values = [[0.70], [0.90], [0.80], [0.80], [NAN], [0.95], [0.60], [NAN]]
    meets = [True, False, True, True, True, False, False, False]
    result = rank_entries(FLOOR_THEN_PRIMARY, values, True, meets=meets)
    # Meeting: 0.80, 0.80 (tie: 1, 1), 0.70 (3), null (4); missing: 0.95 (5), 0.90 (6),
    # 0.60 (7), null (8).
    assert result.rank.tolist() == [3, 6, 1, 1, 4, 5, 7, 8]
    assert result.order.tolist() == [2, 3, 0, 4, 5, 1, 6, 7]
    assert result.score.tolist()[:4] == [0.70, 0.90, 0.80, 0.80]


def test_lower_is_better_column_and_nulls_tie_within_a_half():
    values = [[0.3], [0.1], [NAN], [NAN], [0.2]]
    meets = [False, False, True, True, True]
    result = floor_then_primary(values, False, meets)
    assert result.rank.tolist() == [5, 4, 2, 2, 1]


def test_the_rule_needs_the_floor_checks():
    with pytest.raises(InputError, match="floor"):
        rank_entries(FLOOR_THEN_PRIMARY, [[1.0]], True)
    with pytest.raises(ValueError, match="meets has 1"):
        floor_then_primary([[1.0], [2.0]], True, [True])


@given(st.lists(st.tuples(st.one_of(st.none(), st.floats(-5, 5)), st.booleans()),
                min_size=1, max_size=30),
       st.booleans())
def test_an_entry_meeting_every_floor_never_ranks_below_one_that_does_not(rows, higher):
    values = [[NAN if v is None else v] for v, _m in rows]
    meets = [m for _v, m in rows]
    rank = floor_then_primary(values, higher, meets).rank
    for i, mi in enumerate(meets):
        for j, mj in enumerate(meets):
            if mi and not mj:
                assert rank[i] < rank[j]


def _sensitivity_by_group(label, decision, group):
    def statistic(weights):
        out = {}
        for g in np.unique(group):
            positives = (label == 1) & (group == g)
            denominator = weights[positives].sum()
            if denominator > 0:
                out[str(g)] = float((weights * (positives & (decision == 1))).sum() / denominator)
        return out
    return statistic


def test_paired_bootstrap_matches_a_direct_numpy_computation_on_the_same_indices():
    rng = np.random.default_rng(3)
    n = 300
    label = rng.integers(0, 2, n)
    group = rng.choice(["f", "m", "x"], n, p=[0.45, 0.45, 0.1])
    entry = np.where(rng.random(n) < 0.8, label, 1 - label)
    reference = np.where(rng.random(n) < 0.7, label, 1 - label)
    B, seed = paired_resamples(50), 11
    assert B == 200 and paired_resamples(1000) == 1000
    got = paired_change_intervals(_sensitivity_by_group(label, entry, group),
                                  _sensitivity_by_group(label, reference, group),
                                  n, resamples=B, seed=seed)
    # Oracle: the resample as explicit indices (np.repeat of the counts), sensitivity by
    # direct indexing on both entry and reference, the same indices for both.
    draws = {g: [] for g in ("f", "m", "x")}
    for stream in resample_seeds(seed, B):
        index = np.repeat(np.arange(n), resample_counts(int(stream), n))
        lab, grp = label[index], group[index]
        for g in draws:
            pos = (lab == 1) & (grp == g)
            if pos.sum() == 0:
                draws[g].append(np.nan)
                continue
            draws[g].append(entry[index][pos].mean() - reference[index][pos].mean())
    for g, values in draws.items():
        low, high = percentile_intervals(np.array(values)[:, None])
        pos = (label == 1) & (group == g)
        assert got[g]["change"] == pytest.approx(entry[pos].mean() - reference[pos].mean(),
                                                 abs=1e-12)
        assert got[g]["lower"] == pytest.approx(low[0], abs=1e-12)
        assert got[g]["upper"] == pytest.approx(high[0], abs=1e-12)
        assert got[g]["lower"] <= got[g]["change"] <= got[g]["upper"]


def test_the_reference_against_itself_changes_nothing_in_any_resample():
    label = np.array([1, 1, 0, 1, 0, 1] * 20)
    group = np.array(["a", "b"] * 60)
    decision = np.array([1, 0, 0, 1, 1, 1] * 20)
    same = _sensitivity_by_group(label, decision, group)
    got = paired_change_intervals(same, same, len(label), resamples=200, seed=1)
    assert got == {g: {"change": 0.0, "lower": 0.0, "upper": 0.0} for g in ("a", "b")}
