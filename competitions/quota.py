"""How a phase's submission quota is counted: per person, carried into whatever team they join.

A team's use of the quota is the sum of its current members' own submissions in the phase
(queued, scoring or scored; a failed one frees its slot), today (UTC) and in total. A person's
submissions count for them wherever they go, so leaving a team, creating one or joining another
never frees quota; a join (the merge of a person into a team) and the merge of two teams are
allowed only while the merged team still fits the quota, as on Kaggle. The quota applies per
team: a team of three has the same daily and total quota as a team of one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from competitions.models import Participant, Phase, Submission, Team


@dataclass(frozen=True)
class Usage:
    """Submissions counted against a phase's quota, today (UTC) and in the whole phase."""

    today: int
    total: int

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.today + other.today, self.total + other.total)


@dataclass(frozen=True)
class Remaining:
    """What is left of the quota, today and in the phase (never below zero)."""

    today: int
    total: int

    @property
    def now(self) -> int:
        """How many more submissions are possible right now."""
        return min(self.today, self.total)


def utc_day(now: datetime) -> tuple[datetime, datetime]:
    """The UTC calendar day ``now`` falls in, as [start, end): the quota's "today"."""
    start = datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def usage_of(phase: Phase, user_ids: Iterable[int], now: datetime) -> Usage:
    """The counted submissions these people made in ``phase``, whatever team they were in."""
    counted = Submission.objects.filter(
        phase=phase, created_by_id__in=list(user_ids), status__in=Submission.COUNTED_STATUSES
    )
    start, end = utc_day(now)
    today = counted.filter(created_at__gte=start, created_at__lt=end)
    return Usage(today=today.count(), total=counted.count())


def member_ids(team: Team) -> list[int]:
    return list(team.members.values_list("user_id", flat=True))


def team_usage(phase: Phase, team: Team, now: datetime) -> Usage:
    return usage_of(phase, member_ids(team), now)


def remaining(phase: Phase, team: Team, now: datetime) -> Remaining:
    used = team_usage(phase, team, now)
    return Remaining(today=max(0, phase.submissions_per_day - used.today),
                     total=max(0, phase.submissions_total - used.total))


def remaining_for(phases: Iterable[Phase], user, now: datetime) -> dict[int, Remaining]:
    """What the user's team has left in each phase the user has joined, in three queries
    whatever the number of phases (for lists such as the API's challenges)."""
    phases = list(phases)
    teams = dict(
        Participant.objects.filter(user=user, challenge_id__in={p.challenge_id for p in phases})
        .values_list("challenge_id", "team_id")
    )
    members: dict[int, set[int]] = {}
    for team_id, user_id in Participant.objects.filter(team_id__in=teams.values()).values_list(
        "team_id", "user_id"
    ):
        members.setdefault(team_id, set()).add(user_id)
    start, end = utc_day(now)
    used: dict[tuple[int, int], Usage] = {}
    rows = (
        Submission.objects.filter(
            phase__in=[p for p in phases if p.challenge_id in teams],
            created_by_id__in={u for ids in members.values() for u in ids},
            status__in=Submission.COUNTED_STATUSES,
        )
        .values_list("phase_id", "created_by_id")
        .annotate(total=Count("id"),
                  today=Count("id", filter=Q(created_at__gte=start, created_at__lt=end)))
    )
    for phase_id, user_id, total, today in rows:
        used[(phase_id, user_id)] = Usage(today=today, total=total)
    left = {}
    for phase in phases:
        if phase.challenge_id not in teams:
            continue
        team_used = sum((used.get((phase.pk, u), Usage(0, 0))
                         for u in members.get(teams[phase.challenge_id], ())), Usage(0, 0))
        left[phase.pk] = Remaining(today=max(0, phase.submissions_per_day - team_used.today),
                                   total=max(0, phase.submissions_total - team_used.total))
    return left


def quota_refusal(phase: Phase, used: Usage) -> str | None:
    """Why one more submission does not fit ``phase``'s quota after ``used``, or None."""
    if used.today >= phase.submissions_per_day:
        return _(
            "Your team has used all %(n)d submissions for today (UTC). "
            "The next one is possible after midnight UTC."
        ) % {"n": phase.submissions_per_day}
    if used.total >= phase.submissions_total:
        return _("Your team has used all %(n)d submissions for this phase.") % {
            "n": phase.submissions_total
        }
    return None


def merge_refusal(team: Team, joining_user_ids: Iterable[int], now: datetime) -> str | None:
    """Why ``team`` may not take these people in: in some phase of its challenge the merged
    team's submissions would exceed the quota (today or in total). None if they fit."""
    return _over_quota(
        Phase.objects.filter(challenge_id=team.challenge_id), team, joining_user_ids, now,
        _("Joining would give team “%(team)s” %(total)d submissions in phase “%(phase)s” "
          "(%(today)d today); its quota is %(quota)d (%(daily)d a day)."),
    )


def team_merge_refusal(into: Team, joining_user_ids: Iterable[int], now: datetime) -> str | None:
    """Why a whole team may not merge into ``into``: in a phase that has not ended, the merged
    team's submissions (the sum of both teams' members' own, today and in the phase) would
    exceed the quota. A merged team may fill its quota exactly. None if they fit. Ended phases
    take no more submissions, so what was used in them does not matter."""
    return _over_quota(
        Phase.objects.filter(challenge_id=into.challenge_id, end__gt=now), into,
        joining_user_ids, now,
        _("Merging would give team “%(team)s” %(total)d submissions in phase “%(phase)s” "
          "(%(today)d today); its quota is %(quota)d (%(daily)d a day)."),
    )


def _over_quota(phases: Iterable[Phase], team: Team, joining_user_ids: Iterable[int],
                now: datetime, message: str) -> str | None:
    """``message`` about the first of ``phases`` whose quota ``team`` with these people would
    exceed, or None."""
    joining = list(joining_user_ids)
    for phase in phases:
        merged = team_usage(phase, team, now) + usage_of(phase, joining, now)
        if merged.today > phase.submissions_per_day or merged.total > phase.submissions_total:
            return message % {"team": team.name, "total": merged.total, "phase": phase.name,
                              "today": merged.today, "quota": phase.submissions_total,
                              "daily": phase.submissions_per_day}
    return None
