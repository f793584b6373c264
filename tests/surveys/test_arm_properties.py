"""Permuted-block assignment, for any seed, number of arms and participants: balanced at every
prefix of the sequence, and a pure function of (seed, position)."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from surveys.services import arm_for_sequence


@given(st.integers(0, 2**31), st.integers(2, 5), st.integers(1, 120))
def test_arms_never_differ_by_more_than_one_and_replay_from_the_seed(seed, n_arms, n):
    arms = [SimpleNamespace(slug=f"arm{i}") for i in range(n_arms)]
    sequence = [arm_for_sequence(arms, seed, i).slug for i in range(n)]
    for end in range(1, n + 1):
        counts = Counter(sequence[:end])
        assert max(counts.values()) - min(counts.get(a.slug, 0) for a in arms) <= 1
    shuffled = list(reversed(arms))  # the order the arms come in does not matter
    assert sequence == [arm_for_sequence(shuffled, seed, i).slug for i in range(n)]
