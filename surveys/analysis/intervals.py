"""Confidence intervals for a share and for the difference of two shares.

- Wilson's score interval for ``k / n`` (E. B. Wilson, "Probable inference, the law of
  succession, and statistical inference", JASA 22, 1927): the roots in ``p`` of
  ``|p̂ - p| = z·sqrt(p(1 - p)/n)``, which stay inside [0, 1] and behave at 0 and n.
- Newcombe's hybrid score interval for ``p1 - p2`` of independent samples (R. G. Newcombe,
  "Interval estimation for the difference between independent proportions", Statistics in
  Medicine 17, 1998, method 10): the two Wilson intervals combined,
  ``d - sqrt((p1 - l1)² + (u2 - p2)²)`` to ``d + sqrt((u1 - p1)² + (p2 - l2)²)``.

They equal statsmodels' ``proportion_confint(method="wilson")`` and
``confint_proportions_2indep(method="newcomb", compare="diff")``
(tests/surveys/test_funnel.py checks that).
"""

from __future__ import annotations

import math

from scipy.stats import norm

ALPHA = 0.05


def wilson(k: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """The Wilson interval of ``k`` successes in ``n`` (n ≥ 1), two-sided at ``1 - alpha``."""
    z = norm.isf(alpha / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def newcombe(
    k1: int, n1: int, k2: int, n2: int, alpha: float = ALPHA
) -> tuple[float, float, float]:
    """``(p1 - p2, low, high)``: the difference of two independent shares with Newcombe's
    hybrid score interval."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, alpha)
    l2, u2 = wilson(k2, n2, alpha)
    d = p1 - p2
    return d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt(
        (u1 - p1) ** 2 + (p2 - l2) ** 2
    )
