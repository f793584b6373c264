"""Design-time power of a binary ground truth, per attribute group: can its data show a difference?

For sensitivity (on a group's positives) and specificity (on its negatives): how many cases a
two-sided test at ``alpha`` needs to detect a difference ``d`` from a baseline proportion ``p``
with power 0.8, and the smallest difference the group's actual count can detect. Both use
Cohen's effect size for proportions, h = 2·asin √p₁ − 2·asin √p₂ (Cohen, *Statistical Power
Analysis for the Behavioral Sciences*, 1988, ch. 6), and the normal power of two independent
samples of equal size, as ``statsmodels.stats.power.NormalIndPower`` with
``proportion_effectsize``.

For AUROC: the half-width of the 95 % interval expected at the group's positives n₁ and
negatives n₀ for a baseline area A, from Hanley & McNeil, "The meaning and use of the area under
a receiver operating characteristic (ROC) curve", Radiology 143 (1982) 29-36:
SE² = [A(1 − A) + (n₁ − 1)(Q₁ − A²) + (n₀ − 1)(Q₂ − A²)] / (n₁·n₀), Q₁ = A/(2 − A),
Q₂ = 2A²/(1 + A), half-width 1.96·SE.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from scoring.errors import InputError
from scoring.groups import build_grouping, check_selection
from scoring.io import Truth

POWER = 0.8
Z_95 = 1.96  # Hanley & McNeil's 95 % normal quantile


def cases_needed(baseline: float, difference: float, alpha: float) -> int:
    """Cases needed to detect ``baseline + difference`` against ``baseline`` with power 0.8."""
    effect = proportion_effectsize(baseline + difference, baseline)
    return math.ceil(
        NormalIndPower().solve_power(effect_size=effect, alpha=alpha, power=POWER, ratio=1)
    )


def detectable_difference(have: int, baseline: float, alpha: float) -> float | None:
    """The smallest difference above ``baseline`` that ``have`` cases detect with power 0.8:
    the effect size h they detect, turned back into a proportion, sin²(asin √p + h/2) − p.
    None without cases, or when even a proportion of 1 is not far enough from ``baseline``."""
    if have == 0:
        return None
    h = NormalIndPower().solve_power(effect_size=None, nobs1=have, alpha=alpha, power=POWER,
                                     ratio=1)
    angle = math.asin(math.sqrt(baseline)) + h / 2
    if angle > math.pi / 2:
        return None
    return math.sin(angle) ** 2 - baseline


def auroc_half_width(n_pos: int, n_neg: int, auc: float) -> float | None:
    """Expected 95 % half-width of an AUROC of ``auc`` on ``n_pos`` positives and ``n_neg``
    negatives (Hanley & McNeil 1982); None without positives or negatives."""
    if n_pos == 0 or n_neg == 0:
        return None
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2)
                + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    return Z_95 * math.sqrt(variance)


def check_options(
    baseline: float, difference: float, auc_baseline: float = 0.8, alpha: float = 0.05
) -> None:
    """Raise :class:`InputError` listing every invalid option of :func:`group_power`, so a
    caller can refuse them before it has a group to compute."""
    problems = []
    if not 0 < baseline < 1:
        problems.append(f"the baseline proportion must be between 0 and 1, got {baseline}")
    if not difference > 0:
        problems.append(f"the difference to detect must be positive, got {difference}")
    elif baseline + difference > 1:
        problems.append(
            f"baseline {baseline} + difference {difference} is above 1, not a proportion"
        )
    if not 0 < auc_baseline < 1:
        problems.append(f"the baseline AUROC must be between 0 and 1, got {auc_baseline}")
    if not 0 < alpha < 1:
        problems.append(f"alpha must be between 0 and 1 (exclusive), got {alpha}")
    if problems:
        raise InputError(problems)


def group_power(
    n_pos: int,
    n_neg: int,
    *,
    baseline: float = 0.8,
    difference: float = 0.05,
    auc_baseline: float = 0.8,
    alpha: float = 0.05,
) -> dict:
    """Power of one group with ``n_pos`` positives and ``n_neg`` negatives.

    ``{"sensitivity": {"needed", "have", "detectable_difference", "enough"}, "specificity":
    {...}, "auroc": {"half_width"}}``: ``needed`` cases (positives for sensitivity, negatives
    for specificity) to detect ``difference`` from ``baseline`` with power 0.8 at ``alpha``,
    two-sided; ``have`` the group's count; ``detectable_difference`` the smallest difference
    that count detects (None: none up to 1 − baseline); ``enough`` whether have ≥ needed.
    ``half_width`` is None without positives or negatives. Raises :class:`InputError` for
    invalid options, including baseline + difference above 1.
    """
    check_options(baseline, difference, auc_baseline, alpha)
    needed = cases_needed(baseline, difference, alpha)

    def proportion(have: int) -> dict:
        return {
            "needed": needed,
            "have": int(have),
            "detectable_difference": detectable_difference(int(have), baseline, alpha),
            "enough": bool(have >= needed),
        }

    return {
        "sensitivity": proportion(n_pos),
        "specificity": proportion(n_neg),
        "auroc": {"half_width": auroc_half_width(int(n_pos), int(n_neg), auc_baseline)},
    }


def truth_power(
    truth: Truth,
    *,
    attributes: Sequence[str] | None = None,
    intersections: Sequence[tuple[str, str]] = (),
    baseline: float = 0.8,
    difference: float = 0.05,
    auc_baseline: float = 0.8,
    alpha: float = 0.05,
) -> dict:
    """:func:`group_power` for all cases and every group of a binary ground truth.

    Groups are formed as everywhere in the engine (:func:`scoring.groups.build_grouping`: every
    value of each of ``attributes``, default all, and of each intersection pair; missing values
    are the group ``unknown``). Returns ``{"overall": {...}, "attributes": [{"attribute",
    "groups": [{"group", "n", "positives", "negatives", "sensitivity", "specificity",
    "auroc"}]}]}``.
    """
    if truth.task != "binary":
        raise InputError("power analysis is defined for binary tasks only")
    problems = check_selection(list(truth.attributes), attributes, intersections)
    if problems:
        raise InputError(problems)
    check_options(baseline, difference, auc_baseline, alpha)
    selected = list(truth.attributes) if attributes is None else list(attributes)
    grouping = build_grouping(
        truth.n, truth.attributes, selected, [tuple(p) for p in intersections]
    )
    options = {"baseline": baseline, "difference": difference, "auc_baseline": auc_baseline,
               "alpha": alpha}
    labels = np.asarray(truth.labels, dtype=np.int64)

    def counts(members: np.ndarray) -> dict:
        positives = int(labels[members].sum())
        negatives = int(members.sum()) - positives
        return {"n": positives + negatives, "positives": positives, "negatives": negatives,
                **group_power(positives, negatives, **options)}

    report_attributes = []
    for partition in grouping.partitions[1:]:
        groups = [{"group": grouping.names[g], **counts(partition.case_group == g)}
                  for g in partition.groups]
        report_attributes.append({"attribute": partition.name, "groups": groups})
    return {"overall": counts(np.ones(truth.n, dtype=bool)), "attributes": report_attributes}
