"""The counting entries of a phase and their ranks: the primary leaderboard's snapshot, read.

This is the one ranking path. The worker ranks each board into a snapshot
(``worker.snapshots``); every reader of "who counts, in which order, with which primary value"
— the Compute page, the similarity and ensembles of the field, the study export — reads the
primary board's snapshot here instead of ranking again, so none of them can disagree with the
leaderboard.

One primary: the phase's primary value is the primary board's first ranked column (for a
worst-group board, that metric on the worst group). ``Phase.primary_metric`` only seeds the
default board when a phase is created.
"""

from __future__ import annotations

from dataclasses import dataclass

from competitions.boards import ranked_column_specs
from competitions.columns import Column
from competitions.models import Leaderboard, LeaderboardSnapshot, Phase, Team
from scoring.vocabulary import SPLITS


@dataclass(frozen=True)
class Standing:
    """One counting entry on the primary board. ``team`` is the team's real name: pages show it
    through the release step, which masks anonymous teams. ``suppressed``: the board ranks on
    a group withheld from participants, so the release step withholds rank and value too."""

    rank: int | None
    team_id: int
    team: str
    submission_id: int
    value: float | None
    suppressed: bool = False


def primary_board(phase: Phase) -> Leaderboard | None:
    """The phase's primary leaderboard (every phase gets one when it is created)."""
    return phase.leaderboards.filter(is_primary=True).select_related("phase__challenge").first()


def primary_column(phase: Phase) -> Column | None:
    """The column that gives the phase's primary value: the primary board's first ranked one."""
    return board_primary_column(primary_board(phase))


def board_primary_column(board: Leaderboard | None) -> Column | None:
    """The first column ``board`` ranks on (no query when its columns are prefetched)."""
    specs = ranked_column_specs(board) if board is not None else []
    return specs[0] if specs else None


def phase_standings(phase: Phase, *, split: str = "public") -> list[Standing]:
    """The primary board's entries on ``split`` in rank order, as its latest snapshot holds them;
    empty before the worker has ranked the phase."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    board = primary_board(phase)
    if board is None:
        return []
    snapshot = (
        LeaderboardSnapshot.objects.filter(leaderboard=board, split=split)
        .only("rows").first()
    )
    if snapshot is None:
        return []
    column = primary_column(phase)
    names = dict(
        Team.objects.filter(pk__in=[row["team"] for row in snapshot.rows])
        .values_list("pk", "name")
    )
    return [
        Standing(
            rank=row["rank"],
            team_id=row["team"],
            team=names.get(row["team"], ""),
            submission_id=row["submission"],
            value=(row["values"].get(column.id) or {}).get("value") if column else None,
            suppressed=bool(row.get("suppressed")),
        )
        for row in snapshot.rows
        if row["team"] in names
    ]
