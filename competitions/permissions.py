"""Who may see and do what, object by object, in one place.

Views answer 404 (not 403) when a user may not see an object, so ids cannot be probed.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404

from competitions.models import Challenge, Participant, Phase, Submission, TeamMergeRequest


def is_organiser(user, challenge: Challenge) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return challenge.organisers.filter(pk=user.pk).exists()


def challenge_visible(user, challenge: Challenge) -> bool:
    """Published challenges are visible to everyone (private ones show only their overview)."""
    return challenge.status == Challenge.Status.PUBLISHED or is_organiser(user, challenge)


def participant_for(user, challenge: Challenge) -> Participant | None:
    if not user.is_authenticated:
        return None
    return Participant.objects.select_related("team").filter(challenge=challenge, user=user).first()


def can_see_content(user, challenge: Challenge, participant: Participant | None) -> bool:
    """Data files, case lists and leaderboards: public challenges, participants, organisers."""
    if not challenge_visible(user, challenge):
        return False
    return challenge.is_public or participant is not None or is_organiser(user, challenge)


def can_see_submission(user, submission: Submission) -> bool:
    """A submission (its file, log and detailed results) is its team's and the organisers'."""
    if not user.is_authenticated:
        return False
    if submission.team.members.filter(user=user).exists():
        return True
    return is_organiser(user, submission.phase.challenge)


def challenge_or_404(user, slug: str) -> Challenge:
    challenge = get_object_or_404(Challenge, slug=slug)
    if not challenge_visible(user, challenge):
        raise Http404
    return challenge


def content_or_404(user, slug: str) -> tuple[Challenge, Participant | None]:
    """A challenge whose content (data, leaderboards) the user may see, and their membership."""
    challenge = challenge_or_404(user, slug)
    participant = participant_for(user, challenge)
    if not can_see_content(user, challenge, participant):
        raise Http404
    return challenge, participant


def organiser_or_404(user, slug: str) -> Challenge:
    """A challenge the user organises (its course pages: roster, gradebook); 404 otherwise."""
    challenge = get_object_or_404(Challenge, slug=slug)
    if not is_organiser(user, challenge):
        raise Http404
    return challenge


def participant_or_404(user, slug: str) -> tuple[Challenge, Participant]:
    """A challenge the user has joined, and their membership."""
    challenge = challenge_or_404(user, slug)
    participant = participant_for(user, challenge)
    if participant is None:
        raise Http404
    return challenge, participant


def merge_request_or_404(participant: Participant, pk: int, *, side: str) -> TeamMergeRequest:
    """A pending merge request the participant's team is on ``side`` of: "into" (the team
    asked, which may accept or decline) or "from" (the asking team, which may cancel). Anyone
    else gets 404, members of the other team included."""
    if side not in ("into", "from"):
        raise ValueError(side)
    return get_object_or_404(TeamMergeRequest, pk=pk, **{f"{side}_team": participant.team_id})


def report_audience(user, phase: Phase) -> str | None:
    """Which challenge report of ``phase`` the user gets: "organisers" (every value, any time),
    "public" (released values, once the phase has ended and its scores are published), or
    None — every report URL then answers 404, so nothing about it can be probed."""
    if is_organiser(user, phase.challenge):
        return "organisers"
    if phase.has_ended and not phase.scores_hidden:
        return "public"
    return None
