"""Fairness summaries per metric and attribute, and parity measures per attribute.

Both use only the groups that are not suppressed (a 6-case group must not decide the worst
group, and the worst value must not name a group the release step withholds: see
``scoring.suppression``) and, for a metric, where it is defined; with fewer than two such groups
a summary is ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba as nb
import numpy as np

from scoring.result import FairnessSummary


def summary(
    values: np.ndarray, names: Sequence[str], higher_is_better: bool
) -> FairnessSummary:
    """difference (max − min), ratio (min / max, None if a value is ≤ 0), worst group and value.

    ``values`` holds the metric for the attribute's groups that are not suppressed, NaN where
    undefined.
    """
    defined = np.isfinite(values)
    if defined.sum() < 2:
        return FairnessSummary(
            reason="fewer than two groups that are not suppressed and where the metric is defined",
        )
    kept = values[defined]
    kept_names = [name for name, ok in zip(names, defined, strict=True) if ok]
    worst = int(np.argmin(kept) if higher_is_better else np.argmax(kept))
    low, high = float(kept.min()), float(kept.max())
    return FairnessSummary(
        difference=high - low,
        ratio=low / high if low > 0 else None,
        worst_group=kept_names[worst],
        worst_value=float(kept[worst]),
        reason=None if low > 0 else "ratio: a group's value is 0 or below",
    )


def spread(rates: np.ndarray) -> float | None:
    """max − min over the defined rates; None with fewer than two."""
    kept = rates[np.isfinite(rates)]
    return float(kept.max() - kept.min()) if len(kept) >= 2 else None


def parity(
    selection: np.ndarray, tpr: np.ndarray, fpr: np.ndarray
) -> dict[str, float | None]:
    """fairlearn's demographic parity and equalized odds differences over the given groups,
    except that a rate with an empty denominator (NaN) leaves its group out, where fairlearn
    would count it as 0."""
    true_positive, false_positive = spread(tpr), spread(fpr)
    odds = (
        None if true_positive is None or false_positive is None
        else max(true_positive, false_positive)
    )
    return {"demographic_parity_difference": spread(selection), "equalized_odds_difference": odds}


@nb.njit(cache=True)
def _wasserstein(sorted_values, sorted_group, n_groups, sizes):  # pragma: no cover - compiled
    """∫ |F_group − F_rest| for each group, over values sorted ascending."""
    n = sorted_values.shape[0]
    seen = np.zeros(n_groups)
    distance = np.zeros(n_groups)
    for t in range(n - 1):
        seen[sorted_group[t]] += 1
        gap = sorted_values[t + 1] - sorted_values[t]
        if gap == 0:
            continue
        for g in range(n_groups):
            rest = n - sizes[g]
            if sizes[g] == 0 or rest == 0:
                continue
            distance[g] += gap * abs(seen[g] / sizes[g] - (t + 1 - seen[g]) / rest)
    return distance


def score_wasserstein(
    scores: np.ndarray, order: np.ndarray, case_group: np.ndarray, groups: Sequence[int]
) -> float | None:
    """Largest 1-D Wasserstein distance between one group's scores and all other cases'
    (as ``scipy.stats.wasserstein_distance``), over ``groups``; None with fewer than two.

    ``order`` sorts ``scores`` ascending; ``case_group`` gives each case's group index.
    """
    if len(groups) < 2:
        return None
    local = np.full(int(case_group.max()) + 1, -1, dtype=np.int64)
    local[np.asarray(groups)] = np.arange(len(groups))
    member = local[case_group]
    sizes = np.bincount(member[member >= 0], minlength=len(groups)).astype(np.float64)
    # Cases of the left-out (small) groups belong to "all other cases" of every kept group.
    sorted_group = member[order]
    extra = len(groups)
    sorted_group = np.where(sorted_group < 0, extra, sorted_group)
    distances = _wasserstein(
        scores[order], sorted_group, extra + 1, np.append(sizes, 0.0)
    )[:extra]
    return float(distances.max())
