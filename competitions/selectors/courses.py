"""Reads for a course's teachers: the roster with each student's status, and a phase's grades.

Grades come from the primary leaderboard as ``leaderboard_table`` gives it to an organiser (the
counting submission, its score and rank): the same numbers as the board, never recomputed.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from competitions.models import GradeRule, Participant, Phase, RosterEntry, Submission
from competitions.selectors.leaderboards import leaderboard_table

STATUS_LABELS = {
    "revoked": _("revoked"),
    "invited": _("invited"),
    "joined": _("joined"),
    "submitted": _("submitted"),
}


def roster_rows(challenge) -> list[dict]:
    """Each roster entry with its status: revoked, invited (not joined yet), joined, or
    submitted (the student's team has a submission in this challenge), and its team."""
    participants = {
        p.user_id: p
        for p in Participant.objects.filter(challenge=challenge).select_related("team")
        .annotate(submitted=Exists(Submission.objects.filter(team=OuterRef("team_id"))))
    }
    rows = []
    for entry in RosterEntry.objects.filter(challenge=challenge).select_related("user"):
        participant = participants.get(entry.user_id) if entry.user_id else None
        if entry.revoked_at is not None:
            status = "revoked"
        elif participant is None:
            status = "invited"
        else:
            status = "submitted" if participant.submitted else "joined"
        rows.append({"entry": entry, "status": status, "status_label": STATUS_LABELS[status],
                     "participant": participant})
    return rows


def gradebook_split(phase: Phase) -> tuple[str, bool]:
    """The split grades come from, and whether they are provisional: the private split once
    the phase has ended (where the ground truth has one), else the public one, provisional."""
    if phase.has_ended and phase.has_private_cases:
        return "private", False
    return "public", not phase.has_ended


def points_for(rule: GradeRule | None, *, score: float | None, rank: int | None,
               n_submissions: int, higher_is_better: bool) -> float | None:
    """The points of one team under ``rule``: the most points among the steps it reaches, else
    ``otherwise``; ``None`` without a rule. A team without a counting submission reaches no
    step."""
    if rule is None:
        return None
    reached = []
    for bound, points in rule.steps:
        if rule.basis == GradeRule.Basis.SCORE:
            ok = score is not None and (score >= bound if higher_is_better else score <= bound)
        elif rule.basis == GradeRule.Basis.RANK:
            ok = rank is not None and rank <= bound
        else:
            ok = n_submissions >= bound
        if ok:
            reached.append(points)
    return max(reached) if reached else rule.otherwise


def gradebook(phase: Phase, *, user) -> dict:
    """A grade for each (not revoked) roster student of the phase's challenge: every member of
    a team gets the team's grade, with the team's counting score and rank beside it."""
    rule = GradeRule.objects.filter(phase=phase).first()
    split, provisional = gradebook_split(phase)
    board = phase.leaderboards.filter(is_primary=True).first()
    by_team: dict[int, dict] = {}
    metric, higher_is_better = "", True
    if board is not None:
        table = leaderboard_table(board, split=split, user=user)
        ranked = [i for i, column in enumerate(table["columns"]) if column["ranked"]]
        if ranked:
            metric = table["columns"][ranked[0]]["id"]
            higher_is_better = table["columns"][ranked[0]]["higher_is_better"]
        for row in table["rows"]:
            cell = row["cells"][ranked[0]] if ranked else {}
            by_team[row["team_id"]] = {"score": cell.get("value"), "rank": row.get("rank"),
                                       "n_submissions": row.get("n_submissions", 0)}
    rows = []
    for student in roster_rows(phase.challenge):
        if student["status"] == "revoked":
            continue
        participant = student["participant"]
        standing = by_team.get(participant.team_id, {}) if participant else {}
        rows.append({
            **student,
            "team": participant.team.name if participant else "",
            "score": standing.get("score"),
            "rank": standing.get("rank"),
            "points": points_for(
                rule, score=standing.get("score"), rank=standing.get("rank"),
                n_submissions=standing.get("n_submissions", 0),
                higher_is_better=higher_is_better,
            ),
        })
    return {"phase": phase, "rule": rule, "split": split, "provisional": provisional,
            "metric": metric, "board": board, "rows": rows}
