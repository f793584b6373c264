"""Ensembles of the field: what combining the submitted entries would achieve (issue 6).

Virtual entries built from the stacked arrays of the real ones (S entries x N cases: ``scores``,
0/1 ``decisions``) and the 0/1 ``labels``. They are shown apart from the real entries and never
ranked against them.

The functions do not know the scoring engine's metrics: a metric is any callable
``metric_fn(labels, scores, decisions) -> float | None`` (None when undefined on those cases)
with a direction, ``higher_is_better``.

* ``mean_top<k>``: the mean score of the k best entries; decides positive when the mean score
  reaches ``threshold`` (the same rule as a single entry without its own decisions).
* ``vote_top<k>``: the majority of the k best entries' decisions; a tie (possible when k is even)
  counts as positive. Its score is the share of positive votes, so ranking metrics stay defined.
* ``diverse<k>``: greedy; start from the best entry, then repeatedly add the entry whose addition
  gives the mean-score ensemble the best primary value, preferring among the candidates within
  ``tolerance`` (0.001) of that value the one with the lowest mean error consistency to the
  entries already chosen. It always grows to k members (or all entries), even when an addition
  does not improve the value, so that it compares with the top-k ensembles of the same size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from scoring.similarity import similarity_row

MetricFn = Callable[[np.ndarray, np.ndarray, np.ndarray], "float | None"]
DIVERSITY_TOLERANCE = 0.001
# Slack for "within tolerance" so that 0.8 - 0.799 (= 0.0010000000000000009) counts as within.
_ROUNDING = 1e-12


@dataclass(frozen=True)
class Ensemble:
    """A virtual entry: its name, the indices of its members and its per-case outputs."""

    name: str
    members: tuple[int, ...]
    scores: np.ndarray
    decisions: np.ndarray


def mean_score_ensemble(
    scores: np.ndarray, members: Sequence[int], *, threshold: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, decisions) of the mean-score ensemble: mean of the members' scores, >= threshold."""
    if not len(members):
        raise ValueError("an ensemble needs at least one member")
    mean = np.asarray(scores, dtype=float)[list(members)].mean(axis=0)
    return mean, (mean >= threshold).astype(np.int8)


def majority_vote_ensemble(
    decisions: np.ndarray, members: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, decisions) of the majority vote: positive when at least half vote positive.

    A tie in an even vote counts as positive. The score is the share of positive votes.
    """
    if not len(members):
        raise ValueError("an ensemble needs at least one member")
    votes = np.asarray(decisions)[list(members)].astype(np.int64).sum(axis=0)
    return votes / len(members), (2 * votes >= len(members)).astype(np.int8)


def entry_values(
    labels: np.ndarray, scores: np.ndarray, decisions: np.ndarray, metric_fn: MetricFn
) -> list[float | None]:
    """The metric of every single entry, None where undefined."""
    return [
        metric_fn(labels, np.asarray(scores[i]), np.asarray(decisions[i]))
        for i in range(np.shape(scores)[0])
    ]


def rank_entries(values: Sequence[float | None], *, higher_is_better: bool = True) -> list[int]:
    """Indices of the entries with a defined value, best first (ties keep the input order)."""
    defined = [i for i, value in enumerate(values) if value is not None and not np.isnan(value)]
    sign = -1.0 if higher_is_better else 1.0
    return sorted(defined, key=lambda i: (sign * values[i], i))


def gain_over_best(
    value: float | None, single_values: Sequence[float | None], *, higher_is_better: bool = True
) -> float | None:
    """How much better ``value`` is than the best single entry (positive = the ensemble wins).

    In the metric's own units, signed by its direction. None when either side is undefined.
    """
    ranked = rank_entries(single_values, higher_is_better=higher_is_better)
    if value is None or np.isnan(value) or not ranked:
        return None
    best = single_values[ranked[0]]
    return float(value - best) if higher_is_better else float(best - value)


def diverse_members(
    labels: np.ndarray,
    scores: np.ndarray,
    decisions: np.ndarray,
    k: int,
    metric_fn: MetricFn,
    *,
    higher_is_better: bool = True,
    threshold: float = 0.5,
    tolerance: float = DIVERSITY_TOLERANCE,
    error_consistency: np.ndarray | None = None,
    single_values: Sequence[float | None] | None = None,
) -> list[int]:
    """Members of the greedy diverse-k ensemble, in the order they were chosen.

    ``error_consistency`` (S x S, e.g. from ``similarity_matrices``) is computed row by row when
    not given, and so are the single entries' values (``single_values``). An undefined error
    consistency counts as 1: it arises only for two entries with the same constant correctness,
    which are as alike as entries can be. Candidates whose ensemble value is undefined are
    skipped; ties go to the lower index.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    if single_values is None:
        single_values = entry_values(labels, scores, decisions, metric_fn)
    ranked = rank_entries(single_values, higher_is_better=higher_is_better)
    if not ranked:
        return []
    chosen = [ranked[0]]
    consistency_rows = {}

    def consistency(i: int) -> np.ndarray:
        if error_consistency is not None:
            return np.asarray(error_consistency)[i]
        if i not in consistency_rows:
            consistency_rows[i] = similarity_row(
                decisions, labels, scores, i, measures=("error_consistency",)
            )["error_consistency"]
        return consistency_rows[i]

    while len(chosen) < min(k, np.shape(scores)[0]):
        values: dict[int, float] = {}
        for candidate in range(np.shape(scores)[0]):
            if candidate in chosen:
                continue
            mean, decided = mean_score_ensemble(scores, [*chosen, candidate], threshold=threshold)
            value = metric_fn(labels, mean, decided)
            if value is not None and not np.isnan(value):
                values[candidate] = value
        if not values:
            break
        best = max(values.values()) if higher_is_better else min(values.values())
        near = [i for i, v in values.items() if abs(v - best) <= tolerance + _ROUNDING]
        chosen_rows = np.nan_to_num(np.array([consistency(i) for i in chosen]), nan=1.0)
        sign = -1.0 if higher_is_better else 1.0
        # Lowest mean error consistency first, then the better value, then the lower index.
        keys = [(float(chosen_rows[:, i].mean()), sign * values[i], i) for i in near]
        chosen.append(min(keys)[2])
    return chosen


def field_ensembles(
    labels: np.ndarray,
    scores: np.ndarray,
    decisions: np.ndarray,
    k: int,
    metric_fn: MetricFn,
    *,
    higher_is_better: bool = True,
    threshold: float = 0.5,
    error_consistency: np.ndarray | None = None,
) -> list[Ensemble]:
    """``mean_top<k>``, ``vote_top<k>`` and ``diverse<k>`` of the field, ranked on ``metric_fn``.

    The top k are the k entries with the best defined values of the primary metric (fewer when
    fewer are defined; the names keep the requested k). Empty when no entry has a defined value.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    single = entry_values(labels, scores, decisions, metric_fn)
    top = rank_entries(single, higher_is_better=higher_is_better)[:k]
    if not top:
        return []
    diverse = diverse_members(
        labels,
        scores,
        decisions,
        k,
        metric_fn,
        higher_is_better=higher_is_better,
        threshold=threshold,
        error_consistency=error_consistency,
        single_values=single,
    )
    return [
        Ensemble(
            f"mean_top{k}", tuple(top), *mean_score_ensemble(scores, top, threshold=threshold)
        ),
        Ensemble(f"vote_top{k}", tuple(top), *majority_vote_ensemble(decisions, top)),
        Ensemble(
            f"diverse{k}",
            tuple(diverse),
            *mean_score_ensemble(scores, diverse, threshold=threshold),
        ),
    ]
