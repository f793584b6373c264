"""Merging two whole teams, as on Kaggle: a member of one team asks, a member of the other
accepts or declines.

A merge is allowed only while the merged team fits the challenge's team size and, in every
phase that has not ended, its quota (``competitions.quota.team_merge_refusal``): the merged
team's use is the sum of both teams' members' own submissions, today (UTC) and in the phase, so
a merge never frees quota. On acceptance every member of the asking team moves into the other,
and so do the asking team's submissions of the phases that have not ended: the merged team's
entry counts them all. Submissions of ended phases stay with the asking team, which then has no
members and is no longer a leaderboard entry (``worker.counting``); the final standings of an
ended phase are not re-ranked by a merge. A team left with neither members nor submissions is
deleted.

Locks are taken in the project's order: the people's rows, then the teams' rows (as uploads and
team switches do), then the request's.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from competitions.board_cache import bump_team_generation
from competitions.models import (
    Challenge,
    Participant,
    Phase,
    Submission,
    Team,
    TeamInvitation,
    TeamMergeRequest,
)
from competitions.notices import merge_requested
from competitions.quota import team_merge_refusal
from competitions.worker.dispatch import leaderboards_refresh_enqueue


def team_merge_request(*, team: Team, user, into_name: str) -> TeamMergeRequest:
    """Ask team ``into_name`` to take ``team`` (the user's team) in; refused with a message
    when the merge could not be accepted now, or a request of either team to the other, or of
    ``team`` to any team, is pending."""
    name = into_name.strip()
    with transaction.atomic():
        Participant.objects.select_for_update().filter(team=team, user=user).first()
        into = (
            Team.objects.filter(challenge_id=team.challenge_id, name=name, members__isnull=False)
            .distinct()
            .first()
        )
        if into is None:
            raise ValidationError(_("No team is called “%(name)s” in this challenge.")
                                  % {"name": name})
        if into.pk == team.pk:
            raise ValidationError(_("A team cannot merge with itself."))
        teams = _lock_teams(team.pk, into.pk)
        team, into = teams[team.pk], teams[into.pk]
        members = list(Participant.objects.filter(team_id__in=teams).values_list(
            "team_id", "user_id"))
        if (team.pk, user.pk) not in members:
            raise ValidationError(_("Only a member of the team can ask for a merge."))
        outgoing = TeamMergeRequest.objects.filter(from_team=team).select_related("into_team")
        if outgoing.exists():
            raise ValidationError(
                _("Your team has asked “%(team)s” already; cancel that request first.")
                % {"team": outgoing.get().into_team.name}
            )
        if TeamMergeRequest.objects.filter(from_team=into, into_team=team).exists():
            raise ValidationError(
                _("“%(team)s” has asked to merge into your team; accept or decline it below.")
                % {"team": into.name}
            )
        _check_merge(team, into, members, timezone.now())
        merge_request = TeamMergeRequest.objects.create(
            from_team=team, into_team=into, requested_by=user
        )
        merge_requested(merge_request)
        return merge_request


def team_merge_accept(*, merge_request: TeamMergeRequest, user) -> Team:
    """A member of the team asked accepts: the asking team's members (and its submissions of the
    phases that have not ended) move into it, in one transaction. Returns the merged team."""
    from_id, into_id = merge_request.from_team_id, merge_request.into_team_id
    now = timezone.now()
    with transaction.atomic():
        people = list(
            Participant.objects.select_for_update().filter(team_id__in=(from_id, into_id))
            .order_by("pk")
        )
        teams = _lock_teams(from_id, into_id)
        if not TeamMergeRequest.objects.select_for_update().filter(pk=merge_request.pk).exists():
            raise ValidationError(_("This merge request is no longer pending."))
        members = [(p.team_id, p.user_id) for p in people]
        if (into_id, user.pk) not in members:
            raise ValidationError(_("Only a member of the team asked can accept the merge."))
        old, merged = teams[from_id], teams[into_id]
        _check_merge(old, merged, members, now)
        Participant.objects.filter(team=old).update(team=merged)
        transaction.on_commit(lambda: bump_team_generation(merged.challenge_id))
        running = Phase.objects.filter(challenge_id=merged.challenge_id, end__gt=now)
        # One pick per team and phase: the accepting team's pick stays where it has one.
        Submission.objects.filter(
            team=old, selected=True,
            phase__in=Submission.objects.filter(team=merged, selected=True).values("phase"),
        ).update(selected=False)
        # Moved submissions take the next numbers of the team they join, in upload order.
        last = Submission.objects.filter(team=merged).aggregate(last=Max("number"))["last"] or 0
        moving = list(Submission.objects.filter(team=old, phase__in=running)
                      .order_by("created_at", "pk"))
        for offset, submission in enumerate(moving, start=1):
            submission.team, submission.number = merged, last + offset
        Submission.objects.bulk_update(moving, ["team", "number"])
        TeamMergeRequest.objects.filter(Q(from_team=old) | Q(into_team=old)).delete()
        TeamInvitation.objects.filter(team=old).delete()
        if not old.submissions.exists():
            old.delete()
        for phase in running:
            leaderboards_refresh_enqueue(phase)
    return merged


def team_merge_decline(*, merge_request: TeamMergeRequest, user) -> None:
    """A member of the team asked declines; nothing else changes."""
    _withdraw(merge_request, user, merge_request.into_team_id,
              _("Only a member of the team asked can decline the merge."))


def team_merge_cancel(*, merge_request: TeamMergeRequest, user) -> None:
    """A member of the asking team takes the request back."""
    _withdraw(merge_request, user, merge_request.from_team_id,
              _("Only a member of the asking team can cancel the request."))


def _withdraw(merge_request: TeamMergeRequest, user, team_id: int, refusal: str) -> None:
    if not Participant.objects.filter(team_id=team_id, user=user).exists():
        raise ValidationError(refusal)
    TeamMergeRequest.objects.filter(pk=merge_request.pk).delete()


def _lock_teams(*pks: int) -> dict[int, Team]:
    """The teams' rows, locked in the order of their ids (so two merges never wait on each
    other in a circle)."""
    return {team.pk: team
            for team in Team.objects.select_for_update().filter(pk__in=pks).order_by("pk")}


def _check_merge(old: Team, merged: Team, members: list[tuple[int, int]], now: datetime) -> None:
    """Why ``old`` may not merge into ``merged`` now (``members``: the (team id, user id) pairs
    of both teams), as a ValidationError a participant understands."""
    challenge = merged.challenge
    phases = Phase.objects.filter(challenge=challenge)
    if challenge.status != Challenge.Status.PUBLISHED or (
        phases.exists() and not phases.filter(end__gt=now).exists()
    ):
        raise ValidationError(_("This challenge has ended; teams can no longer merge."))
    joining = [u for t, u in members if t == old.pk]
    size = len(members)
    if not joining:
        raise ValidationError(_("Team “%(team)s” has no members left to merge.")
                              % {"team": old.name})
    if size > challenge.max_team_size:
        raise ValidationError(
            _("Merged, the team would have %(size)d members; this challenge allows at most "
              "%(n)d.") % {"size": size, "n": challenge.max_team_size}
        )
    refusal = team_merge_refusal(merged, joining, now)
    if refusal:
        raise ValidationError(refusal)
