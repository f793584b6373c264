"""Joining a challenge and forming teams.

Team sizes are checked while holding a row lock on the team, so concurrent joins cannot slip
past them.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from competitions.board_cache import bump_team_generation
from competitions.hooks import participant_joined
from competitions.models import Challenge, Participant, Team, TeamInvitation
from competitions.notices import invitation_sent
from competitions.quota import merge_refusal


def participant_join(
    *, challenge: Challenge, user, accept_rules: bool, invitation_code: str = ""
) -> Participant:
    """Join a challenge alone: the participant starts in a team of one, named after them."""
    if not accept_rules:
        raise ValidationError(_("Accept the rules to join."))
    if challenge.status != Challenge.Status.PUBLISHED:
        raise ValidationError(_("This challenge is not open yet."))
    if not challenge.is_public and invitation_code.strip() != challenge.invitation_code:
        raise ValidationError(_("That invitation code is not right for this challenge."))
    with transaction.atomic():
        existing = Participant.objects.filter(challenge=challenge, user=user).first()
        if existing:
            return existing
        team = Team.objects.create(challenge=challenge, name=_unique_team_name(challenge, user))
        participant = Participant.objects.create(
            challenge=challenge, user=user, team=team, accepted_rules_at=timezone.now()
        )
        _announce_join(participant)
        return participant


def _announce_join(participant: Participant) -> None:
    transaction.on_commit(
        lambda: participant_joined.send(sender=Participant, participant=participant)
    )


def _unique_team_name(challenge: Challenge, user) -> str:
    base = user.public_name[:70]
    name, n = base, 1
    while Team.objects.filter(challenge=challenge, name=name).exists():
        n += 1
        name = f"{base} ({n})"
    return name


def team_create(*, participant: Participant, name: str) -> Team:
    """Start a new team; the participant leaves their current team for it."""
    name = name.strip()
    if not name:
        raise ValidationError(_("Give the team a name."))
    with transaction.atomic():
        if Team.objects.filter(challenge=participant.challenge, name=name).exists():
            raise ValidationError(_("A team called “%(name)s” exists already.") % {"name": name})
        team = Team.objects.create(challenge=participant.challenge, name=name)
        _move(participant, team)
    return team


def team_invite(*, team: Team, invited_by, username: str) -> TeamInvitation:
    user = User.objects.filter(username=username.strip()).first()
    if user is None:
        raise ValidationError(_("No user is called “%(name)s”.") % {"name": username})
    if Participant.objects.filter(team=team, user=user).exists():
        raise ValidationError(_("%(name)s is in this team already.") % {"name": username})
    invitation, created = TeamInvitation.objects.get_or_create(
        team=team, user=user, defaults={"invited_by": invited_by}
    )
    if created:
        invitation_sent(invitation)
    return invitation


def team_join(*, team: Team, user, accept_rules: bool) -> Participant:
    """Join ``team`` (by its invite link or an accepted invitation), joining the challenge too."""
    challenge = team.challenge
    with transaction.atomic():
        participant = Participant.objects.filter(challenge=challenge, user=user).first()
        if participant is None:
            if not accept_rules:
                raise ValidationError(_("Accept the rules to join."))
            locked = Team.objects.select_for_update().get(pk=team.pk)
            _check_room(locked)
            participant = Participant.objects.create(
                challenge=challenge, user=user, team=locked, accepted_rules_at=timezone.now()
            )
            _announce_join(participant)
        elif participant.team_id != team.pk:
            _move(participant, team)
        TeamInvitation.objects.filter(team=team, user=user).delete()
    return participant


def team_leave(*, participant: Participant) -> Team:
    """Leave the current team for a new team of one. The old team keeps its submissions."""
    with transaction.atomic():
        if participant.team.members.count() == 1:
            raise ValidationError(_("You are the only member; there is no team to leave."))
        team = Team.objects.create(
            challenge=participant.challenge,
            name=_unique_team_name(participant.challenge, participant.user),
        )
        _move(participant, team)
    return team


def _check_room(team: Team) -> None:
    if team.members.count() >= team.challenge.max_team_size:
        raise ValidationError(
            _("Team “%(team)s” is full (at most %(n)d members).")
            % {"team": team.name, "n": team.challenge.max_team_size}
        )


def _move(participant: Participant, team: Team) -> None:
    """Move a participant into ``team`` (locked), dropping their old team if it is now empty.

    Their submissions go with them: the move is refused when the team, with them, would exceed
    a phase's quota (``competitions.quota``), so changing teams never frees quota."""
    Participant.objects.select_for_update().filter(pk=participant.pk).first()
    locked = Team.objects.select_for_update().get(pk=team.pk)
    _check_room(locked)
    refusal = merge_refusal(locked, [participant.user_id], timezone.now())
    if refusal:
        raise ValidationError(refusal)
    old = participant.team
    participant.team = locked
    participant.save(update_fields=["team"])
    if not old.members.exists() and not old.submissions.exists():
        old.delete()


def team_set_anonymous(*, team: Team, anonymous: bool) -> Team:
    """Show the team on public leaderboards as "Anonymous team", or by its name again."""
    with transaction.atomic():
        Team.objects.filter(pk=team.pk).update(anonymous=anonymous)
        transaction.on_commit(lambda: bump_team_generation(team.challenge_id))
    team.anonymous = anonymous
    return team
