"""The field of a leaderboard: every entry's per-case outputs and the configuration that ranks them.

:func:`scoring.leaderboard.compute_leaderboard`, :func:`scoring.leaderboard.build_board` and
:func:`scoring.label_bias.label_bias_stress` read the same dozen inputs; one value carries them, so
the CLI, the benchmarks and the web app build it once and cannot pass one of them differently to
two of the calls. Validation stays with ``build_board``, which reports every problem at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from scoring.error_costs import UNIT_COSTS, ErrorCosts


# eq=False: numpy arrays do not compare to one bool, and two fields are never compared.
@dataclass(frozen=True, eq=False)
class Field:
    """S entries on N cases and how their leaderboard ranks them.

    ``names`` (S) are unique entry names; ``labels`` (N,) the 0/1 ground truth; ``scores``
    (S x N) the entries' scores in case order; ``attributes`` maps each attribute to its (N,)
    group labels. ``columns`` are the leaderboard's column ids (see
    :func:`scoring.columns.parse_column`) and ``ranking`` one of ``scoring.vocabulary.RULES``;
    ``primary`` is the column of ``primary``, ``worst_group`` and ``rank_then_aggregate``
    (None: the first) and ``worst_group_on`` the attribute of ``worst_group``. Decisions are
    ``decisions`` (S x N, the teams' own 0/1 labels) or, when None, ``score >= threshold``;
    ``costs`` weigh the errors of ``expected_cost``.
    ``cases`` (N,) selects the ranked cases, e.g. one split (None: all); groups with fewer than
    ``min_group_size`` of them have no value. ``shown`` adds columns that are displayed, never
    ranked. ``meets`` (S bools) says whether each entry meets every floor of the phase, for
    ``floor_then_primary``; the floors are checked once on the full data, so every resample
    keeps them (a floor is a setting of the phase, not a random quantity).
    """

    names: Sequence[str]
    labels: np.ndarray
    scores: np.ndarray
    attributes: Mapping[str, np.ndarray]
    columns: Sequence[str]
    ranking: str
    primary: str | None = None
    worst_group_on: str | None = None
    threshold: float = 0.5
    costs: ErrorCosts = UNIT_COSTS
    cases: np.ndarray | None = None
    min_group_size: int = 1
    decisions: np.ndarray | None = None
    shown: Sequence[str] = ()
    meets: Sequence[bool] | None = None

    def with_labels(self, labels: np.ndarray) -> Field:
        """The same field and configuration ranked against other labels (the label-bias test)."""
        return dataclasses.replace(self, labels=labels)

    def selected(self) -> np.ndarray:
        """(N,) bool: the ranked cases."""
        n = np.shape(self.labels)[0]
        return np.ones(n, dtype=bool) if self.cases is None else np.asarray(self.cases, bool)
