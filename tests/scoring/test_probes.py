"""The probe patterns are found, and ordinary predictions are not flagged."""

from __future__ import annotations

import numpy as np

from scoring.probes import probe_findings


def test_ordinary_predictions_raise_no_flag(demo_data):
    rng = np.random.default_rng(0)
    scores = rng.random(len(demo_data.truth))
    decisions = (scores >= 0.5).astype(np.int8)
    other = (rng.random(len(scores)) >= 0.5).astype(np.int8)
    assert probe_findings(decisions, scores, [(1, other)]) == []


def test_the_precision_probe_is_constant_scores():
    scores = np.full(2000, 0.5)
    scores[:40] = 0.5 - 2.0 ** -np.arange(1, 41)
    reasons = {p.reason for p in probe_findings((scores >= 0.5).astype(int), scores)}
    assert "constant_scores" in reasons


def test_the_count_probe_is_one_class():
    decisions = np.zeros(2000, dtype=np.int8)
    decisions[[3, 500, 1200]] = 1  # one chosen case per group
    assert [p.reason for p in probe_findings(decisions, None)] == ["one_class"]


def test_a_few_flipped_cases_against_an_earlier_submission_are_a_near_duplicate():
    rng = np.random.default_rng(1)
    earlier = (rng.random(2000) >= 0.5).astype(np.int8)
    probe = earlier.copy()
    probe[:19] = 1 - probe[:19]  # 19 of 2,000 < 1%
    far = 1 - earlier
    found = probe_findings(probe, None, [(7, far), (5, earlier)])
    assert [(p.reason, p.earlier, p.differing_cases) for p in found] == [
        ("near_duplicate", 5, 19)]
    probe = earlier.copy()
    probe[:20] = 1 - earlier[:20]  # 20 of 2,000 is 1%, not fewer
    assert probe_findings(probe, None, [(5, earlier)]) == []
