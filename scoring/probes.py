"""Signs that a submission probes the evaluation instead of predicting: the patterns the attacks
on a leaderboard use (Blum & Hardt 2015; Whitehill 2016, "Exploiting an oracle that reports AUC
scores in machine learning contests").

- ``near_duplicate``: its decisions differ from an earlier submission of the same person in
  fewer than 1% of cases — flipping a few chosen cases and reading the change in a metric tells
  their labels;
- ``one_class``: 99% or more of its decisions are one class — deciding positive on a chosen few
  makes each group's sensitivity reveal those cases' labels;
- ``constant_scores``: 95% or more of its scores are one value — 0.5 everywhere but chosen
  cases makes the Brier score spell their labels.

Plain arrays in, plain findings out; the worker stores them for the organisers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NEAR_DUPLICATE_SHARE = 0.01
ONE_CLASS_SHARE = 0.99
CONSTANT_SCORE_SHARE = 0.95


@dataclass(frozen=True)
class Probe:
    """One finding: ``reason`` (see the module), what it means, and for a near duplicate the
    earlier submission and how many cases differ."""

    reason: str
    detail: str
    differing_cases: int | None = None
    earlier: int | None = None


def probe_findings(
    decisions: np.ndarray | None,
    scores: np.ndarray | None,
    earlier: Sequence[tuple[int, np.ndarray]] = (),
) -> list[Probe]:
    """Findings for one submission's per-case ``decisions`` (0/1 or class indices; None for
    regression) and ``scores`` (1-D: binary scores or regression values; None to skip), against
    ``earlier`` (id, decisions) of the same person, aligned to the same cases."""
    found: list[Probe] = []
    if decisions is not None and decisions.size:
        decisions = np.asarray(decisions)
        values, counts = np.unique(decisions, return_counts=True)
        share = counts.max() / decisions.size
        if share >= ONE_CLASS_SHARE:
            found.append(Probe("one_class", f"{share:.1%} of the decisions are class "
                                            f"{values[counts.argmax()]!s}"))
        closest: tuple[int, int] | None = None
        for pk, other in earlier:
            if other is None or other.shape != decisions.shape:
                continue
            differing = int(np.count_nonzero(other != decisions))
            if closest is None or differing < closest[1]:
                closest = (pk, differing)
        if closest is not None and closest[1] < NEAR_DUPLICATE_SHARE * decisions.size:
            found.append(Probe(
                "near_duplicate",
                f"decisions differ from submission {closest[0]} in {closest[1]} of "
                f"{decisions.size} cases",
                differing_cases=closest[1], earlier=closest[0],
            ))
    if scores is not None and np.ndim(scores) == 1 and np.size(scores):
        values, counts = np.unique(np.asarray(scores), return_counts=True)
        share = counts.max() / np.size(scores)
        if share >= CONSTANT_SCORE_SHARE:
            found.append(Probe("constant_scores", f"{share:.1%} of the scores are "
                                                  f"{values[counts.argmax()]:g}"))
    return found
