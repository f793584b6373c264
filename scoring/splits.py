"""Seeded public/private case splits for ground truths that bring none.

During a phase the leaderboard uses only the public cases, so that teams cannot tune to the cases
that decide the final standings. A split stratified by label keeps the prevalence of every class
the same on both sides (within one case), which a plain random split need not do for rare
positives.
"""

from __future__ import annotations

import numpy as np

from scoring.vocabulary import PRIVATE, PUBLIC


def seeded_split(labels: np.ndarray, private_share: float, seed: int = 0) -> np.ndarray:
    """``"public"``/``"private"`` per case: within each label value, ``round(share × count)``
    cases chosen at random (``numpy.random.default_rng(seed)``) are private.

    The same labels, share and seed always give the same split.
    """
    if not 0.0 <= private_share < 1.0:
        raise ValueError("private_share must be at least 0 and below 1")
    labels = np.asarray(labels)
    split = np.full(labels.shape[0], PUBLIC, dtype=object)
    rng = np.random.default_rng(seed)
    for value in sorted(set(labels.tolist()), key=str):
        members = np.flatnonzero(labels == value)
        chosen = rng.choice(members, size=int(round(private_share * members.size)), replace=False)
        split[chosen] = PRIVATE
    return split
