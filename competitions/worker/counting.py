"""Which submission of a team counts on a leaderboard: its best, its latest, or its pick.

The one place that answers it. The worker ranks the counting submissions into the board's
snapshot, and every other reader (pages, API, exports, the Compute page, similarity, the study
export) reads that snapshot, so all of them agree on who counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F

from competitions.boards import ranked_column_specs
from competitions.columns import Column, column_value, stored_split
from competitions.models import Leaderboard, Participant, Phase, Submission
from scoring.result import SplitResult


@dataclass(frozen=True)
class Counted:
    submission_id: int
    team_id: int
    created_at: object
    result: SplitResult | None


def counting_submissions(board: Leaderboard, split: str) -> list[Counted]:
    """One submission per team with a scored one: its best on the first ranked column (earliest
    wins a tie), its latest, or the one it picked (its best if it picked none).

    Only teams with members are entries: when everyone left a team, its submissions stay (for
    the organisers, and in their authors' quota) but the team is no longer on the board. Under
    the ladder the public board counts released submissions only (``worker.ladder``); the
    private board, shown after the end, counts every submission as the rule says.
    """
    live = Participant.objects.filter(challenge_id=board.phase.challenge_id).values("team_id")
    scored = (
        Submission.objects.filter(phase_id=board.phase_id, status=Submission.Status.SCORED,
                                  team_id__in=live)
        .filter(**_released_only(board.phase, split))
        .annotate(split_result=F(f"result__{split}"))
        .order_by("created_at", "pk")
        .values_list("pk", "team_id", "created_at", "selected", "split_result")
    )
    specs = ranked_column_specs(board)
    first = specs[0] if specs else None
    best: dict[int, tuple[float | None, Counted]] = {}
    latest: dict[int, Counted] = {}
    chosen: dict[int, Counted] = {}
    for pk, team_id, created_at, selected, result in scored:
        item = Counted(pk, team_id, created_at, stored_split(result))
        latest[team_id] = item
        if selected:
            chosen[team_id] = item
        value = column_value(item.result, first)["value"] if first else None
        incumbent = best.get(team_id)
        if incumbent is None or _better(value, incumbent[0], first):
            best[team_id] = (value, item)
    if board.counting == Leaderboard.Counting.LATEST:
        return list(latest.values())
    picked = {team: item for team, (_value, item) in best.items()}
    if board.counting == Leaderboard.Counting.CHOSEN:
        picked.update(chosen)
    return list(picked.values())


def _released_only(phase: Phase, split: str) -> dict:
    if split == "public" and phase.release_policy == Phase.ReleasePolicy.LADDER:
        return {"released": True}
    return {}


def _better(value: float | None, incumbent: float | None, column: Column | None) -> bool:
    if value is None or column is None:
        return False
    if incumbent is None:
        return True
    return value > incumbent if column.higher_is_better else value < incumbent


