"""Ranking rules against hand-counted rankings, scipy as an oracle, and hypothesis properties.

Hand examples spell out the expected ranks; where a rule has an independent implementation
(scipy's ``rankdata(method="min")`` for "1224", ``kendalltau`` for tau-b, a naive peeling loop for
Pareto layers) the test compares with it on random data with many ties.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

from scoring.errors import InputError
from scoring.ranking import (
    FLOOR_THEN_PRIMARY,
    RULE_EXPLANATIONS,
    RULES,
    kendall_tau_b,
    pareto_layers,
    rank_column,
    rank_columns,
    rank_entries,
)
from scoring.vocabulary import higher_is_better

NAN = np.nan


def test_equal_values_share_the_best_rank_and_the_next_rank_is_skipped():
    assert rank_column([0.9, 0.8, 0.8, 0.7], higher_is_better=True).tolist() == [1, 2, 2, 4]


def test_lower_is_better_columns_rank_the_smallest_value_first():
    assert rank_column([0.1, 0.3, 0.3, 0.2], higher_is_better=False).tolist() == [1, 3, 3, 2]


def test_undefined_values_rank_after_all_others_and_share_that_rank():
    ranks = rank_column([NAN, 0.5, NAN, 0.7, 0.5], higher_is_better=True)
    assert ranks.tolist() == [4, 2, 4, 1, 2]


def test_a_column_without_any_value_ranks_everyone_first():
    assert rank_column([NAN, NAN, NAN], higher_is_better=True).tolist() == [1, 1, 1]


def test_infinite_values_are_defined_and_rank_before_undefined_ones():
    ranks = rank_column([NAN, -np.inf, np.inf, 0.0], higher_is_better=True)
    assert ranks.tolist() == [4, 3, 1, 2]


@pytest.mark.parametrize("rule", RULES)
def test_no_entries_give_an_empty_ranking(rule):
    result = rank_entries(rule, np.empty((0, 2)), [True, False], meets=[])
    assert result.score.size == result.rank.size == result.order.size == 0


def test_column_ranks_match_scipy_rankdata_min_on_tied_data():
    # Oracle: scipy.stats.rankdata(method="min") is "1224"; NaN is mapped to +inf after turning
    # every column to lower-is-better, so it ranks last (the data are finite otherwise).
    rng = np.random.default_rng(5)
    values = rng.integers(0, 6, size=(40, 3)).astype(float) / 5
    values[rng.random(values.shape) < 0.15] = NAN
    directions = np.array([True, False, True])
    keys = np.where(directions, -values, values)
    expected = stats.rankdata(np.where(np.isnan(keys), np.inf, keys), method="min", axis=0)
    np.testing.assert_array_equal(rank_columns(values, directions), expected)


def test_primary_ranks_on_the_chosen_column_only():
    values = [[0.1, 0.9], [0.2, 0.8], [0.3, 0.8], [0.4, NAN]]
    result = rank_entries("primary", values, [True, True], column=1)
    assert result.rank.tolist() == [1, 2, 2, 4]
    np.testing.assert_array_equal(result.score, [0.9, 0.8, 0.8, NAN])
    assert result.order.tolist() == [0, 1, 2, 3]


def test_mean_rank_averages_column_ranks_and_ties_share_the_best_rank():
    # Column 1 (higher better) ranks [1, 2, 2, 4] (the NaN last); column 2 (lower better) ranks
    # [4, 1, 3, 1]. Mean ranks [2.5, 1.5, 2.5, 2.5]: one winner, three entries share second.
    values = [[0.9, 0.3], [0.8, 0.1], [0.8, 0.2], [NAN, 0.1]]
    result = rank_entries("mean_rank", values, [True, False])
    np.testing.assert_array_equal(result.score, [2.5, 1.5, 2.5, 2.5])
    assert result.rank.tolist() == [2, 1, 2, 2]
    assert result.order.tolist() == [1, 0, 2, 3]


def test_median_rank_is_not_moved_by_one_bad_column():
    # Column ranks: A [1, 1, 4], B [2, 2, 1], C [3, 3, 2], D [4, 4, 3].
    values = [[0.9, 0.9, 0.1], [0.8, 0.8, 0.9], [0.7, 0.7, 0.8], [0.6, 0.6, 0.7]]
    result = rank_entries("median_rank", values, [True, True, True])
    np.testing.assert_array_equal(result.score, [1.0, 2.0, 3.0, 4.0])
    assert result.rank.tolist() == [1, 2, 3, 4]
    # The mean rank of the same table (A 2, B 5/3) lets A's one last place drop it behind B.
    assert rank_entries("mean_rank", values, [True] * 3).rank.tolist() == [2, 1, 3, 4]


def test_worst_group_ranks_on_the_worst_group_column_with_undefined_last():
    # Columns: auroc overall, sensitivity@worst(sex); the rule ranks on the second.
    values = [[0.95, 0.40], [0.80, 0.70], [0.90, NAN], [0.85, 0.70]]
    result = rank_entries("worst_group", values, [True, True], column=1)
    assert result.rank.tolist() == [3, 1, 4, 1]
    assert result.order.tolist() == [1, 3, 0, 2]


def test_rank_then_aggregate_ranks_every_case_then_averages():
    # Dice per case (higher better). Case ranks: case 1 [1, 2, 2], case 2 [2, 1, 3] (the missing
    # value last), case 3 [1, 1, 1]. Mean ranks [4/3, 4/3, 2]: the first two share first place,
    # although entry 0 has the higher mean Dice.
    values = [[0.9, 0.5, 0.6], [0.8, 0.7, 0.6], [0.8, NAN, 0.6]]
    result = rank_entries("rank_then_aggregate", values, True)
    np.testing.assert_allclose(result.score, [4 / 3, 4 / 3, 2], rtol=0, atol=1e-12)
    assert result.rank.tolist() == [1, 1, 3]


def test_pareto_puts_non_dominated_entries_first_and_incomplete_entries_last():
    values = [
        [0.9, 0.5],  # A: front
        [0.5, 0.9],  # B: front
        [0.6, 0.4],  # C: dominated by A only -> layer 2
        [0.4, 0.4],  # D: dominated by C -> layer 3
        [0.9, 0.5],  # E: identical to A, so neither dominates -> front
        [NAN, 0.99],  # F: undefined column -> one extra layer after all
    ]
    result = rank_entries("pareto", values, [True, True])
    np.testing.assert_array_equal(result.score, [1, 1, 2, 3, 1, 4])
    assert result.rank.tolist() == [1, 1, 4, 5, 1, 6]
    assert result.order.tolist() == [0, 1, 4, 2, 3, 5]


def peeled_layers(values: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Independent oracle: peel the non-dominated set off repeatedly, with plain loops."""
    keys = np.where(directions, -values, values)
    complete = [i for i in range(len(keys)) if not np.isnan(keys[i]).any()]
    layers = np.zeros(len(keys), dtype=int)
    remaining, layer = set(complete), 0
    while remaining:
        layer += 1
        front = {
            j
            for j in remaining
            if not any(all(keys[i] <= keys[j]) and any(keys[i] < keys[j]) for i in remaining)
        }
        for j in front:
            layers[j] = layer
        remaining -= front
    layers[[i for i in range(len(keys)) if i not in complete]] = layer + 1
    return layers


def test_pareto_layers_match_naive_peeling_on_tied_data():
    rng = np.random.default_rng(11)
    for columns in (1, 2, 3):
        values = rng.integers(0, 5, size=(30, columns)).astype(float)
        values[rng.random(values.shape) < 0.05] = NAN
        directions = rng.random(columns) < 0.5
        np.testing.assert_array_equal(
            pareto_layers(values, directions), peeled_layers(values, directions)
        )


def test_kendall_tau_b_matches_scipy_with_ties():
    rng = np.random.default_rng(3)
    for size in (2, 5, 50, 300):
        a = rng.integers(1, 8, size=size)
        b = rng.integers(1, 8, size=size)
        expected = stats.kendalltau(a, b, variant="b").statistic
        if np.isnan(expected):
            assert kendall_tau_b(a, b) is None
        else:
            assert kendall_tau_b(a, b) == pytest.approx(expected, abs=1e-12)


def _pairwise_tau_b(a: np.ndarray, b: np.ndarray) -> float | None:
    """The definition, pair by pair: the oracle for the O(E log E) count."""
    concordant = discordant = tied_a = tied_b = pairs = 0
    for i in range(a.size):
        for j in range(i + 1, a.size):
            pairs += 1
            sign = np.sign(a[i] - a[j]) * np.sign(b[i] - b[j])
            concordant += sign > 0
            discordant += sign < 0
            tied_a += a[i] == a[j]
            tied_b += b[i] == b[j]
    if pairs in (tied_a, tied_b):
        return None
    return (concordant - discordant) / np.sqrt((pairs - tied_a) * (pairs - tied_b))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=40))
def test_kendall_tau_b_counts_every_pair_as_the_definition_does(pairs):
    a = np.array([p[0] for p in pairs], dtype=float)
    b = np.array([p[1] for p in pairs], dtype=float)
    expected = _pairwise_tau_b(a, b)
    if expected is None:
        assert kendall_tau_b(a, b) is None
    else:
        assert kendall_tau_b(a, b) == pytest.approx(expected, abs=1e-12)


def test_kendall_tau_b_on_ten_thousand_entries_matches_scipy():
    rng = np.random.default_rng(11)
    a = rng.integers(1, 3000, size=10_000)
    b = np.where(rng.random(10_000) < 0.7, a, rng.integers(1, 3000, size=10_000))
    expected = stats.kendalltau(a, b, variant="b").statistic
    assert kendall_tau_b(a, b) == pytest.approx(expected, abs=1e-12)


def test_kendall_tau_b_is_one_for_the_same_ranking_and_none_when_undefined():
    assert kendall_tau_b([1, 2, 2, 4], [1, 2, 2, 4]) == pytest.approx(1.0, abs=1e-12)
    assert kendall_tau_b([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0, abs=1e-12)
    assert kendall_tau_b([1, 1, 1], [1, 2, 3]) is None
    assert kendall_tau_b([1], [1]) is None


def test_every_rule_has_a_plain_language_explanation():
    assert set(RULE_EXPLANATIONS) == set(RULES)
    assert all(text.endswith(".") and len(text) < 200 for text in RULE_EXPLANATIONS.values())


def test_an_unknown_rule_is_a_message_for_the_organiser():
    with pytest.raises(InputError, match="mean_rank"):
        rank_entries("best_guess", [[0.5]], [True])


def test_a_direction_per_column_is_required():
    with pytest.raises(ValueError, match="2 ranked columns"):
        rank_entries("mean_rank", [[0.5, 0.2]], [True, False, True])


PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Few distinct values, so that ties and undefined values are common.
tables = st.tuples(st.integers(1, 9), st.integers(1, 4)).flatmap(
    lambda shape: st.tuples(
        hnp.arrays(float, shape, elements=st.sampled_from([0.0, 0.25, 0.5, 1.0, NAN])),
        hnp.arrays(bool, shape[1]),
        st.permutations(range(shape[0])),
    )
)


# floor_then_primary ranks on (meets, value), not on its score: its own properties are in
# tests/scoring/test_floor_ranking.py.
@PROPERTY_SETTINGS
@given(tables, st.sampled_from([rule for rule in RULES if rule != FLOOR_THEN_PRIMARY]))
def test_ranks_are_1224_ranks_of_the_score_and_follow_the_entries(table, rule):
    values, directions, permutation = table
    n_entries = values.shape[0]
    result = rank_entries(rule, values, directions)

    assert result.rank.min() == 1 and result.rank.max() <= n_entries
    # "1224": an entry's rank is one more than the number of entries with a better score.
    # Aggregated scores are lower-is-better; primary's follows its column, NaN last.
    keys = -result.score if rule in ("primary", "worst_group") and directions[0] else result.score
    keys = np.where(np.isnan(keys), np.inf, keys)
    np.testing.assert_array_equal(result.rank, 1 + (keys[None, :] < keys[:, None]).sum(axis=1))
    assert np.all(np.diff(result.rank[result.order]) >= 0)

    # Identical rows share a rank.
    for i in range(n_entries):
        for j in range(n_entries):
            if np.array_equal(values[i], values[j], equal_nan=True):
                assert result.rank[i] == result.rank[j]

    # Reordering the entries reorders the ranks and scores, nothing else.
    permuted = rank_entries(rule, values[list(permutation)], directions)
    np.testing.assert_array_equal(permuted.rank, result.rank[list(permutation)])
    np.testing.assert_array_equal(permuted.score, result.score[list(permutation)])


@PROPERTY_SETTINGS
@given(tables)
def test_pareto_layers_match_naive_peeling_on_any_table(table):
    values, directions, _ = table
    np.testing.assert_array_equal(
        pareto_layers(values, directions), peeled_layers(values, directions)
    )


def test_a_metric_direction_other_than_higher_or_lower_is_refused():
    assert higher_is_better("higher") and not higher_is_better("lower")
    with pytest.raises(ValueError, match="direction"):
        higher_is_better("up")
