"""Percentile-bootstrap confidence intervals (Efron & Tibshirani 1993, ch. 13).

All cases are resampled with replacement (groups are subsets of each resample, so their sizes
vary as they would in a new sample); :mod:`scoring.tallies` computes every metric for every
resample at once. A resample where a metric is undefined (say, a group drew no positives) is
dropped for that metric; with fewer than ``MIN_DEFINED`` of resamples left there is no interval.
"""

from __future__ import annotations

import numpy as np

LEVEL = 0.95
MIN_DEFINED = 0.95


def resample_seeds(seed: int, count: int) -> np.ndarray:
    """One independent 64-bit stream seed per resample, reproducible from ``seed``."""
    return np.random.SeedSequence(seed).generate_state(count, dtype=np.uint64)


def percentile_intervals(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear-interpolated 2.5/97.5 percentiles over axis 0 (resamples) of ``values``.

    Returns (lower, upper), each NaN where fewer than 95% of resamples are defined.
    """
    defined = np.isfinite(values)
    enough = defined.mean(axis=0) >= MIN_DEFINED
    tail = 100 * (1 - LEVEL) / 2
    lower = np.full(values.shape[1:], np.nan)
    upper = np.full(values.shape[1:], np.nan)
    if enough.any():
        kept = np.where(defined, values, np.nan)[:, enough]
        bounds = np.nanpercentile(kept, [tail, 100 - tail], axis=0, method="linear")
        lower[enough], upper[enough] = bounds
    return lower, upper
