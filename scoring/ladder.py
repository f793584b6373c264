"""The ladder: release a submission's public scores only when it is significantly better than its
author's best released submission (Blum & Hardt 2015, "The Ladder: A Reliable Leaderboard for
Machine Learning Competitions", in its parameter-free spirit).

Feedback that answers every submission exactly lets a participant read the labels back (a
precision probe spells them in a Brier score; one positive decision per group spells them in a
sensitivity) or climb the public board by overfitting it. The ladder answers only a real step:
the paired-bootstrap 95% interval of the improvement ``new − best`` (oriented by the metric's
direction, so that positive is better), both entries on the same resamples, must lie above 0.
A submission that does not clear it learns nothing of its own public values.

Plain arrays in, a decision out: the worker gathers the two entries' per-case outputs and the
column; :func:`column_resamples` and :func:`metric_resamples` give the values on the resamples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from scoring.bootstrap import LEVEL, MIN_DEFINED
from scoring.error_costs import UNIT_COSTS, ErrorCosts
from scoring.field import Field
from scoring.field_values import FieldMetric
from scoring.io import Predictions, Truth
from scoring.leaderboard import build_board
from scoring.registry import get_metric
from scoring.weighted_stats import resample_weights

# At least this many resamples, whatever the phase's interval setting (the B).
MIN_RESAMPLES = 200
# Memory for one chunk of resample weights (float32, resamples x cases).
CHUNK_BYTES = 32 * 2**20

NOT_BETTER = "not significantly better than the best released submission"
UNDEFINED = "the metric is undefined for one of the two submissions"
FEW_DEFINED = "the metric is undefined in over 5% of resamples"


@dataclass(frozen=True)
class LadderStep:
    """The decision for one submission against the best released one. ``improvement`` is
    ``new − best`` oriented so that positive is better, ``ci`` its 95% percentile interval over
    ``resamples`` paired resamples; ``reason`` says why it was not released (None if it was)."""

    released: bool
    improvement: float | None
    ci: tuple[float, float] | None
    resamples: int
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"released": self.released, "improvement": self.improvement,
                "ci": list(self.ci) if self.ci else None, "resamples": self.resamples,
                "reason": self.reason}


def ladder_resamples(phase_resamples: int) -> int:
    """B = max(200, the phase's resamples)."""
    return max(MIN_RESAMPLES, int(phase_resamples))


def ladder_step(point: np.ndarray, resampled: np.ndarray, *, higher_is_better: bool) -> LadderStep:
    """Decide from the column's values of ``[best, new]``: ``point`` (2,) on the cases as they
    are, ``resampled`` (B, 2) on each paired resample (NaN where undefined)."""
    point = np.asarray(point, dtype=float)
    resampled = np.asarray(resampled, dtype=float)
    sign = 1.0 if higher_is_better else -1.0
    bootstrap = resampled.shape[0]
    if not (math.isfinite(point[0]) and math.isfinite(point[1])):
        return LadderStep(False, None, None, bootstrap, UNDEFINED)
    improvement = float(sign * (point[1] - point[0]))
    deltas = sign * (resampled[:, 1] - resampled[:, 0])
    defined = deltas[np.isfinite(deltas)]
    if bootstrap == 0 or defined.size / bootstrap < MIN_DEFINED:
        return LadderStep(False, improvement, None, bootstrap, FEW_DEFINED)
    tail = 100 * (1 - LEVEL) / 2
    low, high = np.percentile(defined, [tail, 100 - tail], method="linear")
    released = bool(low > 0)
    return LadderStep(released, improvement, (float(low), float(high)), bootstrap,
                      None if released else NOT_BETTER)


def _chunks(n_cases: int, bootstrap: int):
    size = max(1, CHUNK_BYTES // (4 * max(n_cases, 1)))
    for start in range(0, bootstrap, size):
        yield range(start, min(start + size, bootstrap))


def column_resamples(field: Field, *, bootstrap: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The field's first ranked column for each entry (binary tasks): ``(point (S,),
    resampled (B, S))``, the resamples those of ``scoring.weighted_stats.resample_weights`` over
    the field's cases — the same cells as the leaderboard (groups, worst groups, small groups
    left out)."""
    board = build_board(field)
    column = board.ranked[0]
    n_cases = board.field.n_cases
    point = board.values(np.ones((1, n_cases), dtype=np.float32))[0, :, column]
    resampled = np.empty((bootstrap, len(board.names)))
    for chunk in _chunks(n_cases, bootstrap):
        weights = resample_weights(n_cases, chunk, seed)
        resampled[chunk.start:chunk.stop] = board.values(weights)[..., column]
    return point, resampled


def metric_resamples(
    truth: Truth, predictions: list[Predictions], *, metric: str, cases: np.ndarray,
    threshold: float, bootstrap: int, seed: int, costs: ErrorCosts = UNIT_COSTS,
) -> tuple[np.ndarray, np.ndarray]:
    """``metric`` of each entry on ``cases`` (any task): ``(point (S,), resampled (B, S))`` on
    the same seeded resamples of those cases."""
    chosen = get_metric(metric, truth.task)
    truth = truth.subset(cases)
    field = FieldMetric(chosen, truth, [p.subset(cases) for p in predictions], threshold,
                        costs)
    point = field.values(np.ones((1, truth.n), dtype=np.float32))[0]
    resampled = np.empty((bootstrap, len(predictions)))
    for chunk in _chunks(truth.n, bootstrap):
        resampled[chunk.start:chunk.stop] = field.values(resample_weights(truth.n, chunk, seed))
    return point, resampled
