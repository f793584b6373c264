"""Label-bias stress test: how a leaderboard moves when one group's positives go unrecorded.

Medical labels are themselves biased: a condition under-diagnosed in one group is recorded as
negative there. The organiser picks a group and a share (say 20 % of women's positives); that
share of the group's positive cases, drawn with a seeded generator, is relabelled negative, and
every column and the ranking are computed again on the altered labels with the same
configuration. Entries whose rank depends on the recorded labels of one group stand out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scoring.errors import InputError
from scoring.field import Field
from scoring.leaderboard import LeaderboardResult, compute_leaderboard
from scoring.ranking import kendall_tau_b


def hide_positives(
    labels: np.ndarray, in_group: np.ndarray, share: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Relabel ``round(share × positives in the group)`` (rounded half up) of the group's
    positives as negatives, chosen uniformly without replacement by ``numpy.random.default_rng
    (seed)``. Returns (new labels, indices of the hidden cases, ascending)."""
    if not 0 <= share <= 1:
        raise InputError(f"share must be between 0 and 1, got {share}")
    labels = np.asarray(labels)
    positives = np.flatnonzero(np.asarray(in_group, bool) & (labels == 1))
    count = int(np.floor(share * positives.size + 0.5))
    hidden = np.sort(np.random.default_rng(seed).choice(positives, size=count, replace=False))
    altered = labels.copy()
    altered[hidden] = 0
    return altered, hidden


@dataclass(frozen=True)
class BiasedEntry:
    """One entry before and after hiding the positives; ranks and scores of the same rule."""

    name: str
    rank_before: int
    rank_after: int
    score_before: float | None
    score_after: float | None
    metrics_before: dict[str, float | None]
    metrics_after: dict[str, float | None]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LabelBiasResult:
    """The stress test's outcome, entries in the order of the unaltered ranking.

    ``positives`` counts the group's positives among the ranked cases, ``hidden`` how many were
    relabelled; ``kendall_tau`` compares the rankings before and after (None when undefined).
    """

    attribute: str
    group: str
    share: float
    seed: int
    positives: int
    hidden: int
    kendall_tau: float | None
    winners_before: list[str]
    winners_after: list[str]
    entries: list[BiasedEntry]

    def to_dict(self) -> dict[str, Any]:
        document = dict(self.__dict__)
        document["entries"] = [entry.to_dict() for entry in self.entries]
        return document


def label_bias_stress(
    field: Field, *, attribute: str, group: str, share: float, seed: int = 0
) -> LabelBiasResult:
    """Hide ``share`` of the positives of ``attribute == group`` (among the field's ranked cases)
    as negatives, seeded by ``seed``, and rank the field (without bootstrap) before and after
    with the same configuration."""
    attributes = field.attributes
    if attribute not in attributes:
        raise InputError(f"unknown attribute {attribute!r}; the ground truth has "
                         + (", ".join(attributes) or "no attribute columns"))
    values = np.asarray(attributes[attribute]).astype(str)
    selected = field.selected()
    in_group = (values == group) & selected
    if not in_group.any():
        groups = ", ".join(sorted(set(values[selected])))
        raise InputError(f"attribute {attribute!r} has no group {group!r} among the ranked "
                         f"cases; its groups are {groups}")
    labels = np.asarray(field.labels)
    altered, hidden = hide_positives(labels, in_group, share, seed)

    def board(these_labels: np.ndarray) -> LeaderboardResult:
        return compute_leaderboard(field.with_labels(these_labels), bootstrap=0)

    before, after = board(labels), board(altered)
    after_by_name = {entry.name: entry for entry in after.entries}
    entries = [
        BiasedEntry(
            name=entry.name, rank_before=entry.rank, rank_after=after_by_name[entry.name].rank,
            score_before=entry.score, score_after=after_by_name[entry.name].score,
            metrics_before=entry.metrics, metrics_after=after_by_name[entry.name].metrics,
        )
        for entry in before.entries
    ]
    tau = kendall_tau_b([e.rank_before for e in entries], [e.rank_after for e in entries])
    return LabelBiasResult(
        attribute=attribute, group=group, share=share, seed=seed,
        positives=int((in_group & (labels == 1)).sum()), hidden=int(hidden.size),
        kendall_tau=tau,
        winners_before=[e.name for e in entries if e.rank_before == 1],
        winners_after=[e.name for e in entries if e.rank_after == 1],
        entries=entries,
    )
