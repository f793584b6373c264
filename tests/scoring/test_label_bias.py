"""The label-bias stress test on flchain: which labels it flips, and that the leaderboard after
it equals one computed from scratch on the altered labels (scikit-learn as the oracle)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import recall_score

from scoring.errors import InputError
from scoring.field import Field
from scoring.label_bias import hide_positives, label_bias_stress
from scoring.leaderboard import compute_leaderboard


@pytest.fixture(scope="module")
def field(flchain):
    rng = np.random.default_rng(1)
    base = flchain["score"].to_numpy()
    scores = np.vstack([base, np.clip(base + rng.normal(0, 0.15, base.size), 0, 1)])
    return (["logit", "noisy"], flchain["label"].to_numpy(), scores,
            {"sex": flchain["sex"].to_numpy().astype(str)})


@pytest.mark.parametrize("share", [0.0, 0.2, 0.37, 1.0])
def test_hides_exactly_the_rounded_share_of_the_groups_positives_and_nothing_else(field, share):
    _, labels, _, attributes = field
    women = attributes["sex"] == "F"
    positives = int((labels[women] == 1).sum())
    altered, hidden = hide_positives(labels, women, share, seed=4)
    changed = np.flatnonzero(altered != labels)
    assert changed.size == int(np.floor(share * positives + 0.5))
    assert np.array_equal(changed, hidden)
    assert (labels[changed] == 1).all() and (altered[changed] == 0).all()
    assert women[changed].all()


def test_hiding_is_reproducible_from_the_seed(field):
    _, labels, _, attributes = field
    women = attributes["sex"] == "F"
    first = hide_positives(labels, women, 0.2, seed=4)[1]
    assert np.array_equal(first, hide_positives(labels, women, 0.2, seed=4)[1])
    assert not np.array_equal(first, hide_positives(labels, women, 0.2, seed=5)[1])


def test_stress_test_reports_metrics_and_ranks_before_and_after(field):
    names, labels, scores, attributes = field
    field = Field(names, labels, scores, attributes, columns=["sensitivity@sex=F", "auroc"],
                  ranking="mean_rank")
    result = label_bias_stress(field, attribute="sex", group="F", share=0.3, seed=8)
    women = attributes["sex"] == "F"
    assert result.positives == int((labels[women] == 1).sum())
    assert result.hidden == int(np.floor(0.3 * result.positives + 0.5))
    altered, _ = hide_positives(labels, women, 0.3, seed=8)
    after = compute_leaderboard(field.with_labels(altered), bootstrap=0)
    for entry in result.entries:
        s = names.index(entry.name)
        before = recall_score(labels[women], scores[s, women] >= 0.5)
        hidden = recall_score(altered[women], scores[s, women] >= 0.5)
        assert entry.metrics_before["sensitivity@sex=F"] == pytest.approx(before, abs=1e-12)
        assert entry.metrics_after["sensitivity@sex=F"] == pytest.approx(hidden, abs=1e-12)
        assert entry.rank_after == next(e.rank for e in after.entries if e.name == entry.name)
    document = result.to_dict()
    assert set(document["entries"][0]) >= {"rank_before", "rank_after", "metrics_after"}


def test_unknown_group_or_bad_share_gets_a_clear_message(field):
    names, labels, scores, attributes = field
    field = Field(names, labels, scores, attributes, columns=["auroc"], ranking="primary")
    with pytest.raises(InputError, match="no group 'X' among the ranked cases; its groups are F"):
        label_bias_stress(field, attribute="sex", group="X", share=0.2)
    with pytest.raises(InputError, match="share must be between 0 and 1"):
        label_bias_stress(field, attribute="sex", group="F", share=1.5)
