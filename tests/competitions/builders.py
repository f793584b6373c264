"""Leaderboard fixtures built by hand: scored submissions with results in the shape
``scoring.evaluate`` stores, so rules can be checked against hand-computed ranks."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from competitions.models import Leaderboard, LeaderboardColumn, Submission
from tests.factories import ParticipantFactory


def stored_result(auroc, sensitivity=None, groups=None, small=()):
    """A stored result with the shape scoring.evaluate gives: overall, groups, fairness."""
    metrics = {"auroc": auroc, "sensitivity": sensitivity}
    group_rows = []
    for name, values in (groups or {}).items():
        group_rows.append({
            "attribute": "sex", "group": name, "n": 5 if name in small else 50,
            "small": name in small,
            "metrics": {m: {"value": v, "ci": None} for m, v in values.items()},
        })
    kept = {g["group"]: g["metrics"]["sensitivity"]["value"] for g in group_rows
            if not g["small"] and g["metrics"].get("sensitivity", {}).get("value") is not None}
    worst = min(kept, key=kept.get) if len(kept) >= 2 else None
    return {
        "n_cases": 100,
        "overall": {m: {"value": v, "ci": None if v is None else [v - 0.05, v + 0.05]}
                    for m, v in metrics.items()},
        "groups": group_rows,
        "fairness": {"sensitivity": {"sex": {"worst_group": worst}}},
    }


def make_scored(phase, participant, created_offset=0, **values) -> Submission:
    return Submission.objects.create(
        phase=phase, team=participant.team, created_by=participant.user,
        file="submissions/x.upload", original_name="x.csv", status=Submission.Status.SCORED,
        created_at=timezone.now() - timedelta(minutes=100 - created_offset),
        result={"public": stored_result(**values), "private": None},
    )


def make_teams(phase, n):
    return [ParticipantFactory(team__challenge=phase.challenge) for _ in range(n)]


def make_board(phase, ranking, columns, **fields) -> Leaderboard:
    board = Leaderboard.objects.create(phase=phase, slug=ranking, name=ranking,
                                       ranking=ranking, **fields)
    for order, (column_id, ranked) in enumerate(columns):
        LeaderboardColumn.objects.create(leaderboard=board, column_id=column_id, ranked=ranked,
                                         order=order)
    return board
