"""Bootstrap rank robustness on real data (flchain) against a slow, independent oracle, the
weighted metrics against scikit-learn with ``sample_weight``, and hypothesis properties.

The oracle resamples case indices, scores each resample with scikit-learn, ranks with
``scipy.stats.rankdata(method="min")`` and compares rankings with ``scipy.stats.kendalltau``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import kendalltau, rankdata
from sklearn.metrics import average_precision_score, recall_score, roc_auc_score

from scoring import leaderboard as leaderboard_module
from scoring.errors import InputError
from scoring.field import Field
from scoring.leaderboard import build_board, compute_leaderboard
from scoring.ranking import RULES
from scoring.weighted_stats import resample_weights

EXACT = 1e-12  # weighted sums against scikit-learn: float64 rounding only


@pytest.fixture(scope="module")
def field(flchain):
    """Four entries on flchain: the logistic model (2-decimal scores, many ties), and three
    noisier copies rounded to 1, 2 and 3 decimals."""
    rng = np.random.default_rng(5)
    base = flchain["score"].to_numpy()
    noisy = [np.clip(base + rng.normal(0, sd, base.size), 0, 1).round(d)
             for sd, d in ((0.05, 1), (0.1, 2), (0.2, 3))]
    scores = np.vstack([base, *noisy])
    attributes = {"sex": flchain["sex"].to_numpy().astype(str),
                  "age_band": flchain["age_band"].to_numpy().astype(str)}
    return ["logit", "coarse", "noisy", "noisier"], flchain["label"].to_numpy(), scores, attributes


def test_resample_weights_are_reproducible_counts_independent_of_chunks():
    whole = resample_weights(500, range(0, 10), seed=3)
    parts = np.vstack([resample_weights(500, range(0, 4), 3),
                       resample_weights(500, range(4, 10), 3)])
    assert np.array_equal(whole, parts)
    assert (whole.sum(axis=1) == 500).all() and (whole == np.round(whole)).all()
    assert not np.array_equal(whole, resample_weights(500, range(0, 10), seed=4))


def test_weighted_auroc_auprc_and_sensitivity_equal_scikit_learn(field):
    names, labels, scores, attributes = field
    weights = resample_weights(labels.size, range(0, 5), seed=11)
    board = build_board(Field(names, labels, scores, attributes, ranking="mean_rank",
                              columns=["auroc", "auprc", "sensitivity", "auroc@sex=F",
                                       "auprc@sex=M"]))
    values = board.values(weights)
    female, male = attributes["sex"] == "F", attributes["sex"] == "M"
    for b, w in enumerate(weights):
        for s, score in enumerate(scores):
            expected = [
                roc_auc_score(labels, score, sample_weight=w),
                average_precision_score(labels, score, sample_weight=w),
                recall_score(labels, score >= 0.5, sample_weight=w),
                roc_auc_score(labels[female], score[female], sample_weight=w[female]),
                average_precision_score(labels[male], score[male], sample_weight=w[male]),
            ]
            assert values[b, s] == pytest.approx(expected, abs=EXACT, rel=0)


def _oracle_ranks(labels, scores, sex, indices):
    """mean_rank over auroc, sensitivity, specificity@worst(sex) on the resampled cases."""
    y = labels[indices]
    rows = []
    for score in scores:
        s = score[indices]
        decided = (s >= 0.5).astype(int)
        worst = np.inf
        for group in np.unique(sex[indices]):
            kept = sex[indices] == group
            if (y[kept] == 0).any():
                worst = min(worst, recall_score(y[kept], decided[kept], pos_label=0))
        rows.append([roc_auc_score(y, s), recall_score(y, decided), worst])
    values = np.array(rows)
    ranks = rankdata(-values, axis=0, method="min")  # all columns: higher is better
    return rankdata(ranks.mean(axis=1), method="min")


def test_bootstrap_equals_a_per_resample_scikit_learn_and_scipy_oracle(field):
    names, labels, scores, attributes = field
    resamples, seed = 40, 7
    result = compute_leaderboard(
        Field(names, labels, scores, attributes, ranking="mean_rank",
              columns=["auroc", "sensitivity", "specificity@worst(sex)"]),
        bootstrap=resamples, seed=seed,
    )
    weights = resample_weights(labels.size, range(resamples), seed)
    full = _oracle_ranks(labels, scores, attributes["sex"], np.arange(labels.size))
    oracle = np.array([
        _oracle_ranks(labels, scores, attributes["sex"],
                      np.repeat(np.arange(labels.size), w.astype(int)))
        for w in weights
    ])
    assert np.array_equal(result.rank_samples, oracle)
    by_name = {entry.name: entry for entry in result.entries}
    for s, name in enumerate(names):
        column = np.sort(oracle[:, s])
        entry = by_name[name]
        assert entry.rank == full[s]
        assert entry.median_rank == np.median(column)
        # inverted_cdf: the smallest rank whose cumulative share reaches the percentile.
        assert entry.rank_interval == (column[math.ceil(0.025 * resamples) - 1],
                                       column[math.ceil(0.975 * resamples) - 1])
        assert entry.p_first == np.count_nonzero(column == 1) / resamples
    taus = [kendalltau(full, sample).statistic for sample in oracle]
    assert result.kendall_tau == pytest.approx(np.nanmean(taus), abs=EXACT)


def test_rank_then_aggregate_bootstrap_equals_resampled_per_case_ranks(field):
    names, labels, scores, attributes = field
    result = compute_leaderboard(Field(names, labels, scores, attributes, columns=["brier"],
                                       ranking="rank_then_aggregate"), bootstrap=15, seed=2)
    per_case_ranks = rankdata((scores - labels) ** 2, axis=0, method="min")
    for w, sample in zip(resample_weights(labels.size, range(15), 2), result.rank_samples,
                         strict=True):
        indices = np.repeat(np.arange(labels.size), w.astype(int))
        mean_ranks = per_case_ranks[:, indices].mean(axis=1)
        assert np.array_equal(sample, rankdata(mean_ranks, method="min"))


def test_chunks_of_resamples_give_the_same_result(field, monkeypatch):
    names, labels, scores, attributes = field
    field = Field(names, labels, scores, attributes, columns=["auroc", "f1@age_band=70-79"],
                  ranking="pareto")
    whole = compute_leaderboard(field, bootstrap=12, seed=1)
    monkeypatch.setattr(leaderboard_module, "CHUNK_BYTES", 1)
    chunked = compute_leaderboard(field, bootstrap=12, seed=1)
    assert np.array_equal(whole.rank_samples, chunked.rank_samples)
    assert whole.to_dict() == chunked.to_dict()


def test_same_seed_same_result_other_seed_other_resamples(field):
    names, labels, scores, attributes = field
    def run(seed):
        return compute_leaderboard(Field(names, labels, scores, attributes,
                                         columns=["auroc", "ppv"], ranking="median_rank"),
                                   bootstrap=25, seed=seed)
    assert run(3).to_dict() == run(3).to_dict()
    assert not np.array_equal(run(3).rank_samples, run(4).rank_samples)


fields = st.integers(min_value=0, max_value=2**32 - 1).flatmap(
    lambda seed: st.tuples(st.just(seed), st.integers(2, 5), st.integers(6, 40))
)


def _random_field(seed: int, n_entries: int, n_cases: int):
    rng = np.random.default_rng(seed)
    labels = (rng.random(n_cases) < 0.4).astype(int)
    # Few distinct scores, so that metrics and ranks tie often.
    scores = rng.integers(0, 5, (n_entries, n_cases)) / 4
    groups = {"g": rng.choice(["x", "y"], n_cases)}
    return [f"e{i}" for i in range(n_entries)], labels, scores, groups


def _meets(rule: str, n_entries: int) -> list[bool] | None:
    """Every other entry meets the floors, for the floor_then_primary rule."""
    return [i % 2 == 0 for i in range(n_entries)] if rule == "floor_then_primary" else None


def _columns(rule: str) -> list[str]:
    if rule == "rank_then_aggregate":
        return ["brier"]
    return ["auroc", "sensitivity@g=x", "ppv"]


PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(fields, st.sampled_from(RULES), st.randoms(use_true_random=False))
def test_permuting_entries_permutes_every_result(params, rule, random):
    names, labels, scores, groups = _random_field(*params)
    options = {"columns": _columns(rule), "ranking": rule, "worst_group_on": "g",
               "meets": _meets(rule, len(names))}
    try:
        result = compute_leaderboard(Field(names, labels, scores, groups, **options),
                                     bootstrap=15, seed=9)
    except InputError as error:  # group x may be missing from the random data
        assert "has no group" in str(error)
        return
    permutation = list(range(len(names)))
    random.shuffle(permutation)
    options["meets"] = None if options["meets"] is None else [options["meets"][i]
                                                              for i in permutation]
    permuted = compute_leaderboard(Field([names[i] for i in permutation], labels,
                                         scores[permutation], groups, **options),
                                   bootstrap=15, seed=9)
    assert np.array_equal(permuted.rank_samples, result.rank_samples[:, permutation])
    assert {e.name: e for e in permuted.entries} == {e.name: e for e in result.entries}
    assert permuted.kendall_tau == pytest.approx(result.kendall_tau, abs=1e-12)


@PROPERTY_SETTINGS
@given(fields, st.sampled_from(RULES))
def test_someone_is_first_on_every_resample_and_intervals_hold_the_median(params, rule):
    names, labels, scores, groups = _random_field(*params)
    result = compute_leaderboard(Field(names, labels, scores, groups, columns=_columns(rule)[:1],
                                       ranking=rule, worst_group_on="g",
                                       meets=_meets(rule, len(names))), bootstrap=15, seed=0)
    # Shares of 15 resamples: summing them may round just below 1.
    assert sum(entry.p_first for entry in result.entries) >= 1 - 1e-12
    assert (result.rank_samples.min(axis=1) == 1).all()
    for entry in result.entries:
        low, high = entry.rank_interval
        assert 1 <= low <= entry.median_rank <= high <= len(names)
