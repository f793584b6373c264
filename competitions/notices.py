"""What competitions tell people, written through the mail module (``notifications.notify``).

Called by the worker (a submission scored or failed), by the team services (an invitation, a
merge request) and from beat (a phase opened or closed). Each event has its own key, so a retry
or a second beat run tells no one twice. No notice carries a score: the numbers a participant
may see are on the page it links to, released there by the one release path.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.urls import reverse
from django.utils.translation import gettext as _

from competitions.models import Participant, Phase, Submission, TeamInvitation, TeamMergeRequest
from notifications.models import Kind
from notifications.services import notify

# Beat looks this far back for phases that opened or closed (it runs every few minutes).
ANNOUNCE_WINDOW = timedelta(days=2)


def submission_finished(submission: Submission) -> None:
    """Tell the author their submission is scored, or why it failed."""
    if submission.created_by_id is None:
        return
    challenge = submission.phase.challenge
    url = reverse("competitions:submission", args=[challenge.slug, submission.pk])
    names = {"n": submission.label, "phase": submission.phase.name, "challenge": challenge.title}
    if submission.status == Submission.Status.FAILED:
        first_line = (submission.message or "").strip().splitlines()[:1]
        notify(
            user_ids=[submission.created_by_id],
            kind=Kind.SUBMISSION,
            key=f"submission:{submission.pk}:failed",
            title=_("Submission #%(n)s to %(challenge)s · %(phase)s failed") % names,
            body=first_line[0] if first_line else "",
            url=url,
        )
    elif submission.status == Submission.Status.SCORED:
        notify(
            user_ids=[submission.created_by_id],
            kind=Kind.SUBMISSION,
            key=f"submission:{submission.pk}:scored",
            title=_("Submission #%(n)s to %(challenge)s · %(phase)s is scored") % names,
            body=_("Its results are on the submission's page."),
            url=url,
        )


def invitation_sent(invitation: TeamInvitation) -> None:
    team = invitation.team
    inviter = getattr(invitation.invited_by, "public_name", "") if invitation.invited_by else ""
    notify(
        user_ids=[invitation.user_id],
        kind=Kind.INVITATION,
        key=f"invitation:{invitation.pk}",
        title=_("%(who)s invites you to the team “%(team)s” in %(challenge)s")
        % {"who": inviter or _("Someone"), "team": team.name, "challenge": team.challenge.title},
        body=_("Accept or ignore it on the team page."),
        url=reverse("competitions:team", args=[team.challenge.slug]),
    )


def merge_requested(merge_request: TeamMergeRequest) -> None:
    into, from_team = merge_request.into_team, merge_request.from_team
    members = Participant.objects.filter(team=into).values_list("user_id", flat=True)
    notify(
        user_ids=list(members),
        kind=Kind.INVITATION,
        key=f"merge:{merge_request.pk}",
        title=_("“%(team)s” asks to merge into your team in %(challenge)s")
        % {"team": from_team.name, "challenge": into.challenge.title},
        body=_("Accept or decline it on the team page."),
        url=reverse("competitions:team", args=[into.challenge.slug]),
    )


def phase_changes_announce(*, now: datetime) -> int:
    """Tell a challenge's participants that a phase opened or closed (those who had joined by
    then: someone who joins an open phase needs no notice of its opening). Returns how many
    notices were written."""
    since = now - ANNOUNCE_WINDOW
    written = 0
    for phase in Phase.objects.filter(start__gt=since, start__lte=now).select_related("challenge"):
        written += _phase_notice(phase, "opened", phase.start)
    for phase in Phase.objects.filter(end__gt=since, end__lte=now).select_related("challenge"):
        written += _phase_notice(phase, "closed", phase.end)
    return written


def _phase_notice(phase: Phase, event: str, at: datetime) -> int:
    users = Participant.objects.filter(challenge_id=phase.challenge_id, joined_at__lt=at)
    names = {"phase": phase.name, "challenge": phase.challenge.title}
    if event == "opened":
        title = _("%(challenge)s: the phase “%(phase)s” is open") % names
        body = _("Submissions are accepted until %(end)s.") % {
            "end": phase.end.strftime("%Y-%m-%d %H:%M %Z")
        }
    else:
        title = _("%(challenge)s: the phase “%(phase)s” has closed") % names
        body = _("No more submissions are accepted; the final results are on the leaderboard.")
    return notify(
        user_ids=users.values_list("user_id", flat=True),
        kind=Kind.PHASE,
        key=f"phase:{phase.pk}:{event}",
        title=title,
        body=body,
        url=reverse("competitions:challenge-detail", args=[phase.challenge.slug]),
    )
