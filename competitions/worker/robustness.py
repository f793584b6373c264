"""How far a leaderboard's ranking can be trusted, and how it moves under biased labels, computed
by ``scoring.leaderboard`` and ``scoring.label_bias`` from the stored per-case results.

The field queue adds the bootstrap robustness to a snapshot after the scoring queue ranked it
(the ranking itself appears at once; the intervals follow: ``worker.analyses``). Nothing here
re-reads a submission's CSV: the per-case arrays the worker stored when it scored each
submission are stacked into one matrix.
"""

from __future__ import annotations

import logging

import numpy as np

from competitions.board_field import board_field
from competitions.boards import ranked_column_specs
from competitions.models import Leaderboard, LeaderboardSnapshot
from scoring.errors import InputError
from scoring.io import Truth
from scoring.leaderboard import LeaderboardResult, compute_leaderboard
from scoring.sensitivity import field_case_values
from scoring.weighted_stats import PER_CASE_METRICS

logger = logging.getLogger(__name__)


def case_ranking(board: Leaderboard, split: str, submission_ids: list[int]) -> LeaderboardResult:
    """The board's ranking computed from the per-case results, without resampling: the only way
    to rank under ``rank_then_aggregate``, whose per-case ranks no stored summary holds."""
    return compute_leaderboard(board_field(board, split, submission_ids), bootstrap=0)


def panel_case_values(
    board: Leaderboard, split: str, submission_ids: list[int]
) -> dict[str, np.ndarray]:
    """The per-case values of the board's per-case ranked columns (``brier``, ``log_loss``) for
    the sensitivity panel's median variants, from the stored per-case results; empty when no
    ranked column has them, or when the per-case results cannot be read (the panel then has
    no median variant, and the ranking still shows)."""
    specs = ranked_column_specs(board)
    if board.phase.challenge.task != "binary" or not submission_ids or not any(
        spec.metric in PER_CASE_METRICS and not spec.worst for spec in specs
    ):
        return {}
    try:
        return field_case_values(board_field(board, split, submission_ids))
    except (InputError, OSError, ValueError) as exc:
        logger.warning("Leaderboard %s (%s): no median variants: %s", board.pk, split, exc)
        return {}


def robustness_compute(
    board: Leaderboard, split: str, ids: list[int], truth: Truth | None = None
) -> tuple[dict | None, str]:
    """Bootstrap the ranking of the entries ``ids`` (a snapshot's, in its order) and return,
    per entry, the median rank, the 95% rank interval, the probability of first place and the
    rank distribution (for the blob plot), with a note for the page ("" if none; the reason
    when there are no intervals). ``truth``: the phase's parsed ground truth, when the caller
    has it (one parse for every board and split)."""
    if board.robustness_resamples == 0:
        return None, "Rank intervals are turned off for this leaderboard."
    if len(ids) < 2:
        return None, "Rank intervals need at least two entries."
    if board.phase.challenge.task != "binary":
        return None, "Rank intervals are computed for binary tasks only, so far."
    try:
        result = compute_leaderboard(
            board_field(board, split, ids, truth),
            bootstrap=board.robustness_resamples, seed=board.robustness_seed,
        )
    except InputError as exc:
        return None, " ".join(exc.problems)
    except (OSError, ValueError) as exc:
        # A per-case file that cannot be read must not stop the ranking from showing.
        logger.warning("Leaderboard %s (%s): no robustness: %s", board.pk, split, exc)
        return None, "Rank intervals could not be computed for this field."
    # The point ranking is the snapshot's own (its rows); the resamples only say how far it
    # moves, so the intervals are around the ranking the page shows.
    return _summarise(result), ""


def robustness_apply(snapshot: LeaderboardSnapshot, robustness: dict | None, note: str) -> None:
    """Write the intervals into the snapshot's rows and fields (the caller saves it)."""
    for row in snapshot.rows:
        entry = (robustness or {}).get("entries", {}).get(str(row["submission"]), {})
        row["median_rank"] = entry.get("median_rank")
        row["rank_interval"] = entry.get("rank_interval")
        row["p_first"] = entry.get("p_first")
    snapshot.robustness = robustness
    snapshot.robustness_note = note[:300]


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
