"""Actions on challenges, teams and submissions.

Each service validates, writes inside one transaction and returns the object. Errors a user can
cause are ``django.core.exceptions.ValidationError`` with a message the user understands; views
and the admin show it. Quotas and team sizes are checked while holding a row lock on the team, so
concurrent uploads cannot slip past them.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import math
from datetime import UTC, datetime, time, timedelta

import pandas as pd
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from competitions.broker import BROKER_ERRORS
from competitions.hooks import participant_joined, submit_refusal
from competitions.leaderboards import leaderboards_refresh_enqueue
from competitions.models import (
    Challenge,
    FactSheet,
    Participant,
    Phase,
    Submission,
    SubmissionEvent,
    Team,
    TeamInvitation,
)
from scoring.describe import describe
from scoring.errors import InputError
from scoring.io import read_truth
from scoring.splits import seeded_split

logger = logging.getLogger(__name__)


# --- Ground truth ---------------------------------------------------------------------------


def truth_upload(*, phase: Phase, upload: File) -> Phase:
    """Check a ground-truth CSV, store it privately, and derive what participants download.

    Participants get the list of case ids and a sample submission (ids with a constant score):
    no labels, no attributes, no split.
    """
    upload.seek(0)
    try:
        truth = read_truth(upload, task=phase.challenge.task)
    except InputError as exc:
        raise ValidationError(exc.problems) from exc
    if truth.split is None and phase.private_share > 0:
        upload = _with_seeded_split(upload, truth, phase)
        truth = read_truth(upload, task=phase.challenge.task)
    report = _truth_report(phase, truth)
    upload.seek(0)
    cases = io.StringIO()
    sample = io.StringIO()
    case_writer, sample_writer = csv.writer(cases), csv.writer(sample)
    case_writer.writerow(["case_id"])
    sample_writer.writerow(_sample_header(phase.challenge.task))
    sample_row = _sample_row(phase.challenge.task)
    for case_id in truth.case_ids:
        case_writer.writerow([case_id])
        sample_writer.writerow([case_id, *sample_row])
    with transaction.atomic():
        phase.ground_truth.save("truth.csv", upload, save=False)
        phase.case_list.save("cases.csv", ContentFile(cases.getvalue().encode()), save=False)
        phase.sample_submission.save(
            "sample_submission.csv", ContentFile(sample.getvalue().encode()), save=False
        )
        phase.truth_n_cases = int(truth.n)
        phase.truth_attributes = sorted(truth.attributes)
        phase.truth_uploaded_at = timezone.now()
        phase.truth_report = report
        phase.save()
    return phase


def _with_seeded_split(upload: File, truth, phase: Phase) -> ContentFile:
    """The uploaded CSV with a ``split`` column the phase's share and seed decide, so that every
    later reader (scoring, similarity, reports) sees the split as if the organiser had given it."""
    upload.seek(0)
    raw = upload.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame["split"] = seeded_split(truth.labels, phase.private_share, phase.split_seed)
    return ContentFile(frame.to_csv(index=False).encode(), name="truth.csv")


def phase_truth_report_refresh(*, phase: Phase) -> Phase:
    """Recompute the evaluation-data report after the subgroup settings changed."""
    with phase.ground_truth.open("rb") as handle:
        truth = read_truth(handle, task=phase.challenge.task)
    phase.truth_report = _truth_report(phase, truth)
    phase.save(update_fields=["truth_report"])
    return phase


def _truth_report(phase: Phase, truth) -> dict:
    """The scoring core's description of the evaluation data, under the phase's settings."""
    try:
        return describe(
            truth, intersections=phase.intersection_pairs, min_group=phase.min_group_size
        )
    except (InputError, ValueError) as exc:  # intersections naming unknown attributes
        problems = exc.problems if isinstance(exc, InputError) else [str(exc)]
        raise ValidationError(problems) from exc


def _sample_header(task: str) -> list[str]:
    return {"binary": ["case_id", "score"], "regression": ["case_id", "value"]}.get(
        task, ["case_id", "label"]
    )


def _sample_row(task: str) -> list[str]:
    return {"binary": ["0.5"], "regression": ["0"]}.get(task, [""])


# --- Joining and teams ----------------------------------------------------------------------


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
    from accounts.models import User

    user = User.objects.filter(username=username.strip()).first()
    if user is None:
        raise ValidationError(_("No user is called “%(name)s”.") % {"name": username})
    if Participant.objects.filter(team=team, user=user).exists():
        raise ValidationError(_("%(name)s is in this team already.") % {"name": username})
    invitation, _created = TeamInvitation.objects.get_or_create(
        team=team, user=user, defaults={"invited_by": invited_by}
    )
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
    """Move a participant into ``team`` (locked), dropping their old team if it is now empty."""
    locked = Team.objects.select_for_update().get(pk=team.pk)
    _check_room(locked)
    old = participant.team
    participant.team = locked
    participant.save(update_fields=["team"])
    if not old.members.exists() and not old.submissions.exists():
        old.delete()


# --- Submissions ----------------------------------------------------------------------------


def submission_create(
    *,
    phase: Phase,
    user,
    upload: File,
    description: str = "",
    fact_sheet: dict | None = None,
    now: datetime | None = None,
) -> Submission:
    """Accept a predictions file for scoring, or refuse it with a reason and store nothing.

    The quota counts the team's queued, scoring and scored submissions (failed ones free their
    slot), per UTC calendar day and in total, under a lock on the team row. ``fact_sheet``
    holds ``FactSheet`` fields (external data, compute hours, hardware, devices), checked here.
    """
    now = now or timezone.now()
    sheet = _fact_sheet_checked(fact_sheet) if fact_sheet else None
    participant = (
        Participant.objects.select_related("team")
        .filter(challenge_id=phase.challenge_id, user=user)
        .first()
    )
    if participant is None:
        raise ValidationError(_("Join the challenge before you submit."))
    refusal = submit_refusal(user, phase.challenge)
    if refusal:
        raise ValidationError(refusal)
    if now < phase.start:
        raise ValidationError(
            _("Phase “%(phase)s” opens at %(start)s UTC.")
            % {"phase": phase.name, "start": f"{phase.start:%Y-%m-%d %H:%M}"}
        )
    if now >= phase.end:
        raise ValidationError(
            _("Phase “%(phase)s” closed at %(end)s UTC; it takes no more submissions.")
            % {"phase": phase.name, "end": f"{phase.end:%Y-%m-%d %H:%M}"}
        )
    if not phase.ground_truth:
        raise ValidationError(_("The organisers have not set up scoring for this phase yet."))
    # An empty or malformed file is accepted here and fails in the worker with a message, like
    # every other content problem; only the size limit is checked before anything is stored.
    size = upload.size or 0
    if size > settings.SUBMISSION_MAX_BYTES:
        raise ValidationError(
            _("The file is %(size)s; the limit is %(limit)s.")
            % {"size": _megabytes(size), "limit": _megabytes(settings.SUBMISSION_MAX_BYTES)}
        )
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=participant.team_id)
        _check_quota(phase=phase, team=team, now=now)
        submission = Submission(
            phase=phase,
            team=team,
            created_by=user,
            original_name=(upload.name or "predictions.csv")[-255:],
            size=size,
            description=description.strip(),
            created_at=now,
        )
        submission.file.save("upload", upload, save=False)
        try:
            submission.save()
        except Exception:
            submission.file.delete(save=False)
            raise
        SubmissionEvent.objects.bulk_create(
            [
                SubmissionEvent(
                    submission=submission,
                    kind=SubmissionEvent.Kind.RECEIVED,
                    at=now,
                    detail=_megabytes(size),
                ),
                SubmissionEvent(submission=submission, kind=SubmissionEvent.Kind.QUEUED, at=now),
            ]
        )
        if sheet is not None:
            sheet.submission = submission
            sheet.save()
        submission_enqueue(submission)
    return submission


def _fact_sheet_checked(data: dict) -> FactSheet:
    """An unsaved fact sheet whose fields and constraints hold, or a ValidationError."""
    for name in ("training_hours", "inference_hours"):
        hours = data.get(name)
        if hours is not None and not math.isfinite(hours):
            raise ValidationError(_("Compute hours must be finite numbers."))
    sheet = FactSheet(**data)
    sheet.full_clean(exclude=["submission"])
    return sheet
def submission_select(*, submission: Submission, user) -> Submission:
    """Make ``submission`` its team's pick for leaderboards that count the chosen submission.

    Only a member may pick, only a scored submission, and only while the phase runs: the final
    standings must not change after the end.
    """
    if not submission.team.members.filter(user=user).exists():
        raise ValidationError(_("Only a member of the team can choose its submission."))
    if submission.status != Submission.Status.SCORED:
        raise ValidationError(_("Only a scored submission can count on the leaderboard."))
    if not submission.phase.is_open():
        raise ValidationError(_("The phase has ended; the counting submissions are final."))
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=submission.team_id)
        Submission.objects.filter(team_id=submission.team_id, phase_id=submission.phase_id,
                                  selected=True).update(selected=False)
        Submission.objects.filter(pk=submission.pk).update(selected=True)
        leaderboards_refresh_enqueue(submission.phase)
    submission.selected = True
    return submission


def team_set_anonymous(*, team: Team, anonymous: bool) -> Team:
    """Show the team on public leaderboards as "Anonymous team", or by its name again."""
    with transaction.atomic():
        Team.objects.filter(pk=team.pk).update(anonymous=anonymous)
    team.anonymous = anonymous
    return team


def _check_quota(*, phase: Phase, team: Team, now: datetime) -> None:
    counted = Submission.objects.filter(
        phase=phase, team=team, status__in=Submission.COUNTED_STATUSES
    )
    day_start = datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC)
    today = counted.filter(created_at__gte=day_start, created_at__lt=day_start + timedelta(days=1))
    if today.count() >= phase.submissions_per_day:
        raise ValidationError(
            _(
                "Your team has used all %(n)d submissions for today (UTC). "
                "The next one is possible after midnight UTC."
            )
            % {"n": phase.submissions_per_day}
        )
    if counted.count() >= phase.submissions_total:
        raise ValidationError(
            _("Your team has used all %(n)d submissions for this phase.")
            % {"n": phase.submissions_total}
        )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size / 1000:.1f} kB"


QUEUE_UNREACHABLE_MESSAGE = gettext_lazy(
    "Received and saved. The scoring queue is unreachable at the moment; scoring will start "
    "automatically when it is back."
)


def submission_enqueue(submission: Submission) -> None:
    """Send the submission to a worker once the surrounding transaction commits.

    The row, not the broker, is the truth: when the broker cannot be reached the row stays
    queued (with a message the team sees; ``submission.message`` tells the caller) and the
    sweeper sends it again later, so an outage never turns an upload into an error page.
    """
    transaction.on_commit(lambda: _send_for_scoring(submission))


def _send_for_scoring(submission: Submission) -> None:
    from competitions.tasks import score_submission

    try:
        score_submission.delay(submission.pk)
    except BROKER_ERRORS:
        logger.warning(
            "Submission %s: the broker is unreachable; it stays queued for the sweeper",
            submission.pk,
            exc_info=True,
        )
        submission.message = str(QUEUE_UNREACHABLE_MESSAGE)
        Submission.objects.filter(pk=submission.pk, status=Submission.Status.QUEUED).update(
            message=submission.message
        )


def phase_rescore(*, phase: Phase) -> int:
    """Queue every scored submission of a phase for scoring again.

    For when the ground truth or the configuration changed; returns how many were queued. Failed
    submissions stay failed: reviving them would take quota slots their teams have reused.
    """
    now = timezone.now()
    with transaction.atomic():
        submissions = list(
            Submission.objects.select_for_update().filter(
                phase=phase, status=Submission.Status.SCORED
            )
        )
        for submission in submissions:
            submission.status = Submission.Status.QUEUED
            submission.deliveries = 0
            submission.message = ""
            submission.save(update_fields=["status", "deliveries", "message"])
            SubmissionEvent.objects.create(
                submission=submission,
                kind=SubmissionEvent.Kind.REQUEUED,
                at=now,
                detail=_("Rescoring requested by the organisers."),
            )
            submission_enqueue(submission)
    return len(submissions)
