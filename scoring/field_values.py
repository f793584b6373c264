"""One metric of every entry of a field under shared rows of case weights, for any task.

Comparing two entries needs their metric on the *same* bootstrap resamples (a paired
bootstrap), so the resamples are explicit rows of case weights in case order
(:func:`scoring.weighted_stats.resample_weights`, the leaderboard's resampling) and the full
data is a row of ones: point estimate and resamples share one code path.

* Binary metrics built into the engine run on :class:`scoring.weighted_stats.FieldStats`, which
  computes every entry at once (matrix products and one compiled sweep per entry with the
  resamples in the innermost loop).
* Everything else (multiclass, regression, per-case scorers) builds the engine's
  :class:`~scoring.contributions.Design` per entry; its sums are ``weights @ contributions`` and
  its rank sums and medians come from the compiled sweeps of :mod:`scoring.tally_kernels`,
  called with each row of weights.

Either way the registry's metric function reads the sums, so values equal ``scoring.evaluate``'s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scoring import scorers
from scoring.contributions import Design, Stats, binary_decisions, build_design
from scoring.error_costs import UNIT_COSTS, ErrorCosts
from scoring.groups import build_grouping
from scoring.io import Predictions, Truth
from scoring.metrics import Metric
from scoring.tally_kernels import _median_sweep, _rank_sweep
from scoring.weighted_stats import FieldStats, PreparedField, per_case_loss

# Per-case metrics: the mean of one value per case, each named by the Design statistic that
# holds it. Scorer metrics (``<name>.mean``/``.median``) are per-case too.
PER_CASE_STATISTIC: dict[str, str] = {"mae": "abs_error", "brier": "brier", "log_loss": "log_loss"}


def is_per_case(metric: Metric) -> bool:
    """Whether ``metric`` summarises one value per case (a mean loss or a scorer's values)."""
    return metric.scorer is not None or metric.id in PER_CASE_STATISTIC


class FieldMetric:
    """``metric`` of S entries on the cases of ``truth``, ready for any rows of case weights."""

    def __init__(self, metric: Metric, truth: Truth, predictions: Sequence[Predictions],
                 threshold: float, costs: ErrorCosts = UNIT_COSTS):
        self.metric = metric
        self.n_cases = truth.n
        self._field: PreparedField | None = None
        self._designs: list[tuple[Design, np.ndarray]] = []
        if truth.task == "binary" and metric.scorer is None:
            self._field = PreparedField(
                labels=np.asarray(truth.labels, dtype=np.float64),
                scores=np.vstack([p.scores for p in predictions]).astype(np.float64),
                decisions=np.vstack(
                    [binary_decisions(truth, p, threshold) for p in predictions]
                ).astype(np.float64),
                grouping=build_grouping(truth.n, {}, [], []),
                threshold=threshold,
                costs=costs,
            )
            return
        for p in predictions:
            case_values = []
            if metric.scorer is not None:
                values = scorers.available()[metric.scorer].values(truth, p)
                case_values.append((metric.scorer, values, metric.id.endswith(".median")))
            design = build_design(truth, p, threshold=threshold, costs=costs,
                                  case_values=case_values)
            cols, vals = design.matrix()
            dense = np.zeros((truth.n, design.n_stats))
            np.add.at(dense, (np.arange(truth.n)[:, np.newaxis], cols), vals)
            self._designs.append((design, dense))

    def values(self, weights: np.ndarray) -> np.ndarray:
        """(rows, S): the metric of each entry under each row of case weights (NaN: undefined)."""
        if self._field is not None:
            return self.metric.compute(FieldStats(self._field, weights))[..., 0]
        return np.column_stack([
            self.metric.compute(_WeightedStats(design, dense, weights))[:, 0]
            for design, dense in self._designs
        ])

    def per_case(self) -> np.ndarray:
        """(S, N): each entry's per-case values of a per-case metric (see :func:`is_per_case`)."""
        if self._field is not None:
            return per_case_loss(self.metric.id, self._field.labels, self._field.scores)
        name = (f"case:{self.metric.scorer}" if self.metric.scorer is not None
                else PER_CASE_STATISTIC[self.metric.id])
        return np.vstack([dense[:, design.layout[name].start] for design, dense in self._designs])


class _WeightedStats(Stats):
    """One entry's statistics under rows of case weights, shaped (rows, 1 group[, width]).

    Sums are computed at construction; rank sums and medians when a metric first reads them.
    """

    def __init__(self, design: Design, dense: np.ndarray, weights: np.ndarray):
        self.design = design
        self._weights = np.ascontiguousarray(weights, dtype=np.float64)
        self._sums = (self._weights @ dense)[:, np.newaxis, :]
        self._ranks: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._medians: dict[str, np.ndarray] = {}
        n = design.n_cases
        self._cell = np.zeros(n, dtype=np.int32)
        self._cell_group = np.zeros((1, 1), dtype=np.int32)

    def __getitem__(self, name: str) -> np.ndarray:
        block = self._sums[..., self.design.layout[name]]
        return block[..., 0] if block.shape[-1] == 1 else block

    def _rank_sums(self, sweep: str) -> tuple[np.ndarray, np.ndarray]:
        if sweep not in self._ranks:
            s = self.design.sweeps[self.design.sweep_names.index(sweep)]
            rows = self._weights.shape[0]
            auc, ap = np.zeros((rows, 1)), np.zeros((rows, 1))
            position = np.ascontiguousarray(s.order, dtype=np.int32)
            positive = np.ascontiguousarray(s.positive[s.order], dtype=np.bool_)
            for row in range(rows):
                _rank_sweep(self._weights[row], position, s.block, positive, self._cell,
                            self._cell_group, auc[row], ap[row])
            self._ranks[sweep] = (auc, ap)
        return self._ranks[sweep]

    def auc(self, sweep: str) -> np.ndarray:
        return self._rank_sums(sweep)[0]

    def ap(self, sweep: str) -> np.ndarray:
        return self._rank_sums(sweep)[1]

    def median(self, name: str) -> np.ndarray:
        if name not in self._medians:
            values = self.design.medians[self.design.median_names.index(name)]
            order = np.argsort(values, kind="stable")
            position = np.ascontiguousarray(order, dtype=np.int32)
            ordered = np.ascontiguousarray(values[order], dtype=np.float64)
            rows = self._weights.shape[0]
            out = np.zeros((rows, 1))
            totals = self["n"]
            for row in range(rows):
                _median_sweep(self._weights[row], position, ordered, self._cell, self._cell_group,
                              totals[row], out[row])
            self._medians[name] = out
        return self._medians[name]
