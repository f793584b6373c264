"""The public/private case split of a ground truth, as the web app applies it."""

from __future__ import annotations

import numpy as np

from scoring.io import Truth


def split_mask(truth: Truth, name: str) -> np.ndarray | None:
    """Cases of one split; without a ``split`` column every case is public."""
    if truth.split is None:
        return np.ones(truth.n, dtype=bool) if name == "public" else None
    return np.asarray(truth.split) == name
