"""Accepting predictions for scoring, and a team's pick of its counting submission.

Errors a user can cause are ``django.core.exceptions.ValidationError`` with a message the user
understands; views, the API and the admin show it. Quotas are checked while holding a row lock
on the team, so concurrent uploads cannot slip past them.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from competitions.hooks import submit_refusal
from competitions.models import FactSheet, Participant, Phase, Submission, SubmissionEvent, Team
from competitions.quota import quota_refusal, team_usage, utc_day
from competitions.worker.dispatch import leaderboards_refresh_enqueue, submission_enqueue


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

    The quota counts the queued, scoring and scored submissions of the team's members, wherever
    they made them (failed ones free their slot; ``competitions.quota``), per UTC calendar day
    and in total, under locks on the person's and the team's rows. ``fact_sheet``
    holds ``FactSheet`` fields (external data, compute hours, hardware, devices), checked here.
    """
    now = now or timezone.now()
    sheet = _fact_sheet_checked(fact_sheet) if fact_sheet else None
    refusal = submission_refusal(phase=phase, user=user, now=now)
    if refusal:
        raise ValidationError(refusal)
    participant = Participant.objects.get(challenge_id=phase.challenge_id, user=user)
    # An empty or malformed file is accepted here and fails in the worker with a message, like
    # every other content problem; only the size limit is checked before anything is stored.
    size = upload.size or 0
    if size > settings.SUBMISSION_MAX_BYTES:
        raise ValidationError(
            _("The file is %(size)s; the limit is %(limit)s.")
            % {"size": _megabytes(size), "limit": _megabytes(settings.SUBMISSION_MAX_BYTES)}
        )
    with transaction.atomic():
        # The person's row first, then the team's: a team switch takes the same two locks, so an
        # upload and a switch of the same person never count the quota past each other.
        participant = Participant.objects.select_for_update().get(pk=participant.pk)
        team = Team.objects.select_for_update().get(pk=participant.team_id)
        _check_quota(phase=phase, team=team, now=now)
        _check_failures(phase=phase, user=user, now=now)
        submission = Submission(
            phase=phase,
            team=team,
            number=next_team_number(team),
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


def next_team_number(team: Team) -> int:
    """The number of the team's next submission; the caller holds the team's row lock."""
    last = Submission.objects.filter(team=team).aggregate(last=Max("number"))["last"]
    return (last or 0) + 1


def submission_refusal(*, phase: Phase, user, now: datetime | None = None) -> str | None:
    """Why ``user`` may not submit to ``phase`` now, whatever the file: not joined (the
    challenge's rules are accepted at joining), a registered gate, the phase not open, no
    scoring set up. ``None`` when an upload may be tried. The submit page shows this above the
    form, so nobody learns it only after uploading; ``submission_create`` applies the same."""
    now = now or timezone.now()
    if not Participant.objects.filter(challenge_id=phase.challenge_id, user=user).exists():
        return _("Join the challenge (and accept its rules) before you submit.")
    refusal = submit_refusal(user, phase.challenge)
    if refusal:
        return refusal
    if now < phase.start:
        return _("Phase “%(phase)s” opens at %(start)s UTC.") % {
            "phase": phase.name,
            "start": f"{phase.start:%Y-%m-%d %H:%M}",
        }
    if now >= phase.end:
        return _("Phase “%(phase)s” closed at %(end)s UTC; it takes no more submissions.") % {
            "phase": phase.name,
            "end": f"{phase.end:%Y-%m-%d %H:%M}",
        }
    if not phase.ground_truth:
        return _("The organisers have not set up scoring for this phase yet.")
    return None


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


def _check_quota(*, phase: Phase, team: Team, now: datetime) -> None:
    """Refuse when the team's members (their own submissions, whatever team they made them in)
    have used the quota (``competitions.quota``)."""
    refusal = quota_refusal(phase, team_usage(phase, team, now))
    if refusal:
        raise ValidationError(refusal)


def _check_failures(*, phase: Phase, user, now: datetime) -> None:
    """Refuse an upload once the person's failed uploads today reach the cap: a failed file
    frees its quota slot, so without it a person could keep the worker busy with bad files."""
    cap = settings.FAILED_UPLOADS_PER_DAY_FACTOR * phase.submissions_per_day
    start, end = utc_day(now)
    failed = Submission.objects.filter(
        phase=phase, created_by=user, status=Submission.Status.FAILED,
        created_at__gte=start, created_at__lt=end,
    ).count()
    if failed >= cap:
        raise ValidationError(
            _(
                "%(n)d of your uploads failed today (UTC), the most a day allows. Check your "
                "file against the sample submission; you can upload again after midnight UTC."
            )
            % {"n": failed}
        )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size / 1000:.1f} kB"
