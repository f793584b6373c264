"""Courses: a teacher's roster of students, their invitations, and the grading rule of a phase.

Invitations go through the worker's mail module (``notifications``): a student whose e-mail
belongs to an account is told on the site and by e-mail (``notify``); any other address gets
the e-mail alone (``email_to_address``). Either way the request only writes rows; the worker
sends after commit. Each invitation has its own key (the entry and its count), so an import
run twice mails no one twice, and a resend is one more e-mail.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from competitions.models import Challenge, GradeRule, Participant, Phase, RosterEntry
from competitions.services.teams import participant_join
from notifications.models import Kind
from notifications.services import email_to_address, notify

User = get_user_model()

ROSTER_COLUMNS = ("email", "name", "lms_id", "section")
MAX_ROSTER_ROWS = 5000
# Grading steps a teacher may set for one phase.
MAX_STEPS = 50


@dataclass(frozen=True)
class RosterProblem:
    """A row of the roster CSV that was not imported, and why (``line`` counts the header)."""

    line: int
    email: str
    reason: str


@dataclass(frozen=True)
class RosterImport:
    added: list[RosterEntry]
    problems: list[RosterProblem]


EMAIL_MAX_LENGTH = RosterEntry._meta.get_field("email").max_length


def roster_import(*, challenge: Challenge, text: str) -> RosterImport:
    """Add the students of a roster CSV (``email``, optional ``name``, ``lms_id``, ``section``)
    and invite each. Rows with an invalid e-mail, or one already in the file or on the roster,
    are returned as problems; the others are imported. A file without an ``email`` column is
    refused as a whole."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        fieldnames, rows = reader.fieldnames or [], list(reader)
    except csv.Error as error:  # a NUL byte, a field past the csv module's limit
        raise ValidationError(
            _("The roster is not a readable CSV file (%(error)s).") % {"error": error}
        ) from None
    headers = {(name or "").strip().lower(): name for name in fieldnames}
    if "email" not in headers:
        raise ValidationError(
            _("The roster needs a column called “email” (optional: name, lms_id, section).")
        )
    known = {
        email.lower()
        for email in RosterEntry.objects.filter(challenge=challenge).values_list(
            "email", flat=True
        )
    }
    fresh: list[RosterEntry] = []
    problems: list[RosterProblem] = []
    for line, row in enumerate(rows, start=2):
        if line > MAX_ROSTER_ROWS + 1:
            raise ValidationError(
                _("A roster has at most %(n)d students.") % {"n": MAX_ROSTER_ROWS}
            )
        values = {
            column: (row.get(headers[column]) or "").strip() if column in headers else ""
            for column in ROSTER_COLUMNS
        }
        email = values["email"]
        try:
            validate_email(email)
            if len(email) > EMAIL_MAX_LENGTH:
                raise ValidationError("too long")
        except ValidationError:
            problems.append(RosterProblem(line, email[:80], _("not a valid e-mail address")))
            continue
        if email.lower() in known:
            problems.append(RosterProblem(line, email, _("already on the roster")))
            continue
        known.add(email.lower())
        fresh.append(
            RosterEntry(
                challenge=challenge,
                email=email,
                name=values["name"][:200],
                lms_id=values["lms_id"][:100],
                section=values["section"][:100],
            )
        )
    with transaction.atomic():
        added = []
        for entry in fresh:
            entry.save()
            _invite(entry)
            added.append(entry)
    return RosterImport(added=added, problems=problems)


def roster_resend(*, entry: RosterEntry) -> RosterEntry:
    """Invite the student again (a revoked entry is restored): one more e-mail."""
    with transaction.atomic():
        entry = RosterEntry.objects.select_for_update().get(pk=entry.pk)
        entry.revoked_at = None
        entry.save(update_fields=["revoked_at"])
        _invite(entry)
    return entry


def roster_revoke(*, entry: RosterEntry) -> RosterEntry:
    """The invitation link stops working and the student leaves the gradebook. A student who
    joined stays a participant (their team's submissions are the team's)."""
    RosterEntry.objects.filter(pk=entry.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    entry.refresh_from_db()
    return entry


def roster_join(*, entry: RosterEntry, user, accept_rules: bool) -> Participant:
    """The student opened their invitation link and accepted the rules: the entry is theirs and
    they join the challenge (the link stands in for a private challenge's code)."""
    if entry.revoked_at is not None:
        raise ValidationError(_("This invitation was withdrawn."))
    if entry.user_id not in (None, user.pk):
        raise ValidationError(_("This invitation belongs to another account."))
    if RosterEntry.objects.filter(challenge=entry.challenge_id, user=user).exclude(
        pk=entry.pk
    ).exists():
        raise ValidationError(_("Your account is on this course's roster already."))
    challenge = entry.challenge
    with transaction.atomic():
        participant = participant_join(
            challenge=challenge,
            user=user,
            accept_rules=accept_rules,
            invitation_code=challenge.invitation_code,
        )
        RosterEntry.objects.filter(pk=entry.pk).update(user=user)
    return participant


def _invite(entry: RosterEntry) -> None:
    """Write the invitation (a notice for an account with this e-mail, else an e-mail to the
    address); the caller holds the transaction."""
    entry.invitations += 1
    entry.invited_at = timezone.now()
    if entry.user_id is None:
        matches = list(User.objects.filter(email__iexact=entry.email, is_active=True)[:2])
        if len(matches) == 1 and not RosterEntry.objects.filter(
            challenge=entry.challenge_id, user=matches[0]
        ).exists():
            entry.user = matches[0]
    entry.save(update_fields=["invitations", "invited_at", "user"])
    challenge = entry.challenge
    path = reverse("competitions:course-join", args=[challenge.slug, entry.token])
    key = f"course:{challenge.pk}:roster:{entry.pk}:{entry.invitations}"
    title = _("You are invited to %(title)s") % {"title": challenge.title}
    body = _(
        "Your teacher added you to the course challenge “%(title)s”. Open the link, sign in "
        "or sign up, and accept the rules to join."
    ) % {"title": challenge.title}
    if entry.user_id is not None:
        notify(user_ids=[entry.user_id], kind=Kind.COURSE, key=key, title=title, body=body,
               url=path)
    else:
        email_to_address(address=entry.email, key=key, subject=title, body=body, url=path)


def grade_rule_set(
    *, phase: Phase, item: str, lms_item_id: str, basis: str, steps: list[tuple[float, float]],
    otherwise: float,
) -> GradeRule:
    """Set the phase's grading rule (one per phase); ``steps`` are ``(bound, points)``."""
    if basis not in GradeRule.Basis.values:
        raise ValidationError(_("Choose how grades are given."))
    if not item.strip():
        raise ValidationError(_("Name the grade item."))
    if len(steps) > MAX_STEPS:
        raise ValidationError(_("At most %(n)d steps.") % {"n": MAX_STEPS})
    if basis == GradeRule.Basis.RANK and any(bound < 1 for bound, _points in steps):
        raise ValidationError(_("A rank bound is 1 or more."))
    rule, _created = GradeRule.objects.update_or_create(
        phase=phase,
        defaults={
            "item": item.strip()[:100], "lms_item_id": lms_item_id.strip()[:40],
            "basis": basis, "steps": [[float(b), float(p)] for b, p in steps],
            "otherwise": float(otherwise),
        },
    )
    return rule
