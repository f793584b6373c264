"""DeLong's test for correlated ROC areas of many entries scored on the same cases.

DeLong, DeLong & Clarke-Pearson, "Comparing the areas under two or more correlated receiver
operating characteristic curves: a nonparametric approach", Biometrics 44 (1988) 837-845: each
entry's AUC is the mean of its structural components V10 (per positive: the share of negatives
it outscores, ties ½) and V01 (per negative: the share of positives that outscore it); the
covariance of the AUCs of S entries is ``S10 / m + S01 / n``, S10 and S01 the S x S sample
covariances (divisor m − 1, n − 1) of the components over the m positives and n negatives.

The components come from midranks, as in Sun & Xu, "Fast implementation of DeLong's algorithm
for comparing the areas under correlated receiver operating characteristic curves", IEEE Signal
Processing Letters 21 (2014) 1389-1393: with T_z the midrank of a case among all cases, T_x
among the positives and T_y among the negatives, V10 = (T_z − T_x) / n and
V01 = 1 − (T_z − T_y) / m. So the work is three rankings per entry and two S x S covariance
products for the whole field; every pair's z then reads the covariance matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, rankdata

# A pair's variance below this share of the sum of its two variances is rounding noise: the two
# entries order the cases alike (their structural components are equal).
_ZERO_VARIANCE = 1e-12


@dataclass(frozen=True)
class DeLong:
    """AUCs (S,) and their covariance matrix (S x S) for S entries on the same cases."""

    auc: np.ndarray
    covariance: np.ndarray

    def pair_variance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Var(AUC_a − AUC_b) for index arrays ``a`` and ``b``; 0 where it is rounding noise."""
        c = self.covariance
        variance = c[a, a] + c[b, b] - 2 * c[a, b]
        return np.where(variance > _ZERO_VARIANCE * (c[a, a] + c[b, b]), variance, 0.0)

    def p_values(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Two-sided p of AUC_a = AUC_b (normal approximation); NaN where the variance is 0."""
        variance = self.pair_variance(a, b)
        z = np.full(variance.shape, np.nan)
        np.divide(self.auc[a] - self.auc[b], np.sqrt(variance), out=z, where=variance > 0)
        return 2 * norm.sf(np.abs(z))


def delong(labels: np.ndarray, scores: np.ndarray) -> DeLong:
    """DeLong's AUCs and covariance of the rows of ``scores`` (S x N) for 0/1 ``labels`` (N,).

    Needs at least two positive and two negative cases (the covariances divide by m − 1, n − 1);
    raises ValueError otherwise.
    """
    positive = np.asarray(labels) == 1
    m, n = int(positive.sum()), int((~positive).sum())
    if m < 2 or n < 2:
        raise ValueError("DeLong's covariance needs at least two positive and two negative cases")
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    x, y = scores[:, positive], scores[:, ~positive]
    t_z = rankdata(np.hstack([x, y]), axis=1)
    v10 = (t_z[:, :m] - rankdata(x, axis=1)) / n
    v01 = 1.0 - (t_z[:, m:] - rankdata(y, axis=1)) / m
    covariance = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return DeLong(auc=v10.mean(axis=1), covariance=covariance)
