"""How far a leaderboard's ranking can be trusted, and how it moves under biased labels, computed
by ``scoring.leaderboard`` and ``scoring.label_bias`` from the stored per-case results.

The worker adds the bootstrap robustness to a snapshot after ranking it (the ranking itself
appears at once; the intervals follow). Nothing here re-reads a submission's CSV: the per-case
arrays the worker stored when it scored each submission are stacked into one matrix.
"""

from __future__ import annotations

import logging

import numpy as np
from django.db import transaction

from competitions.case_results import phase_case_matrix
from competitions.models import Leaderboard, LeaderboardSnapshot
from competitions.splits import split_mask
from scoring.errors import InputError
from scoring.field import Field
from scoring.io import Truth
from scoring.label_bias import label_bias_stress
from scoring.leaderboard import LeaderboardResult, compute_leaderboard

logger = logging.getLogger(__name__)


def _field_inputs(
    board: Leaderboard, split: str, submission_ids: list[int], truth: Truth | None = None
) -> Field:
    """The field ``compute_leaderboard`` and ``label_bias_stress`` rank for this board.
    ``truth``: the phase's parsed ground truth, when the caller has it (read once per refresh)."""
    phase = board.phase
    matrix = phase_case_matrix(phase, submission_ids, truth=truth)
    truth = matrix.truth
    return Field(
        names=[str(pk) for pk in submission_ids],
        labels=truth.labels,
        scores=matrix.scores,
        attributes=truth.attributes,
        columns=[c.column_id for c in board.columns.all() if c.ranked],
        ranking=board.ranking,
        worst_group_on=board.worst_group_on or None,
        threshold=phase.threshold,
        cases=split_mask(truth, split),
        min_group_size=phase.min_group_size,
        decisions=matrix.decisions,
    )


def case_ranking(board: Leaderboard, split: str, submission_ids: list[int]) -> LeaderboardResult:
    """The board's ranking computed from the per-case results, without resampling: the only way
    to rank under ``rank_then_aggregate``, whose per-case ranks no stored summary holds."""
    return compute_leaderboard(_field_inputs(board, split, submission_ids), bootstrap=0)


def snapshot_robustness(
    board: Leaderboard, split: str, truth: Truth | None = None
) -> LeaderboardSnapshot | None:
    """Bootstrap the snapshot's ranking and store, per entry, the median rank, the 95% rank
    interval, the probability of first place and the rank distribution (for the blob plot).

    Stored only if the snapshot still ranks the same submissions: when the field changed
    meanwhile, the refresh that changed it computes its own robustness.
    """
    snapshot = (
        LeaderboardSnapshot.objects.filter(leaderboard=board, split=split).defer("groups").first()
    )
    if snapshot is None:
        return None
    ids = [row["submission"] for row in snapshot.rows]
    note = ""
    robustness = None
    if board.robustness_resamples == 0:
        note = "Rank intervals are turned off for this leaderboard."
    elif len(ids) < 2:
        note = "Rank intervals need at least two entries."
    elif board.phase.challenge.task != "binary":
        note = "Rank intervals are computed for binary tasks only, so far."
    else:
        try:
            result = compute_leaderboard(
                _field_inputs(board, split, ids, truth),
                bootstrap=board.robustness_resamples, seed=board.robustness_seed,
            )
        except InputError as exc:
            note = " ".join(exc.problems)
        except (OSError, ValueError) as exc:
            # A per-case file that cannot be read must not stop the ranking from showing.
            logger.warning("Leaderboard %s (%s): no robustness: %s", board.pk, split, exc)
            note = "Rank intervals could not be computed for this field."
        else:
            robustness = _summarise(result)
            full = {e.name: e.rank for e in result.entries}
            if any(full[str(row["submission"])] != row["rank"] for row in snapshot.rows):
                # The stored results and the per-case arrays should rank identically; say so in
                # the log rather than show intervals around a different ranking.
                logger.warning("Leaderboard %s (%s): per-case ranks differ from the snapshot's",
                               board.pk, split)
    with transaction.atomic():
        current = LeaderboardSnapshot.objects.select_for_update().get(pk=snapshot.pk)
        if sorted(row["submission"] for row in current.rows) != sorted(ids):
            return None
        for row in current.rows:
            entry = (robustness or {}).get("entries", {}).get(str(row["submission"]), {})
            row["median_rank"] = entry.get("median_rank")
            row["rank_interval"] = entry.get("rank_interval")
            row["p_first"] = entry.get("p_first")
        current.robustness = robustness
        current.robustness_note = note[:300]
        current.save(update_fields=["rows", "robustness", "robustness_note"])
    return current


def _summarise(result: LeaderboardResult) -> dict:
    entries = {}
    for j, name in enumerate(result.names):
        ranks, counts = np.unique(result.rank_samples[:, j], return_counts=True)
        entries[name] = {"distribution": {str(int(r)): int(c) for r, c in zip(ranks, counts,
                                                                                strict=True)}}
    for entry in result.entries:
        entries[entry.name] |= {
            "median_rank": entry.median_rank,
            "rank_interval": list(entry.rank_interval) if entry.rank_interval else None,
            "p_first": entry.p_first,
        }
    return {"resamples": result.bootstrap, "seed": result.seed,
            "kendall_tau": result.kendall_tau, "entries": entries}


def label_bias_view(
    board: Leaderboard, split: str, *, attribute: str, group: str, share: float, seed: int
) -> dict:
    """The label-bias stress test on the board's counting submissions, for organisers: each
    entry's ranked columns and rank with the ground truth as it is and with ``share`` of the
    group's positives recorded as negatives."""
    snapshot = (
        LeaderboardSnapshot.objects.filter(leaderboard=board, split=split).defer("groups").first()
    )
    ids = [row["submission"] for row in snapshot.rows] if snapshot else []
    if len(ids) < 1:
        raise InputError("The leaderboard has no entries yet.")
    return label_bias_stress(
        _field_inputs(board, split, ids), attribute=attribute, group=group, share=share,
        seed=seed,
    )
