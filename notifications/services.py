"""Telling people: notices written by the caller, their e-mail sent by the worker.

``notify`` is all other apps call. It writes one notice per person and event (the key makes a
second call a no-op) inside the caller's transaction and, after commit, asks a worker to send
the e-mail. The worker's ``notice_emails_send`` takes each pending notice under a short lease,
sends outside any transaction (a slow mail server holds no database lock), and records the
outcome; a periodic run sends whatever a lost message or a mail outage left pending.
``email_to_address`` is for an address with no account behind it yet (a course roster's
invitation); the same run sends those.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cheetah.queue import send_quietly
from notifications import mail
from notifications.models import AddressEmail, EmailOptOut, Kind, Notice

logger = logging.getLogger(__name__)

SEND_EMAILS = "notifications.tasks.send_notice_emails"
# A worker that took a notice and died lets it go after this long.
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
BATCH = 100


def notify(
    *, user_ids: Iterable[int], kind: str, key: str, title: str, body: str = "", url: str = ""
) -> int:
    """Tell each of ``user_ids`` about one event, once: returns how many new notices were
    written. ``key`` names the event; ``url`` is a path on this site. Nothing here may carry a
    number a participant could not see on the page the notice links to."""
    wanted = set(user_ids)
    ids = wanted - set(
        Notice.objects.filter(key=key, user_id__in=wanted).values_list("user_id", flat=True)
    )
    if not ids:
        return 0
    Notice.objects.bulk_create(
        [
            Notice(
                user_id=pk, kind=kind, key=key[:120], title=title[:200], body=body, url=url[:300]
            )
            for pk in sorted(ids)
        ],
        ignore_conflicts=True,
    )
    transaction.on_commit(lambda: send_quietly(SEND_EMAILS))
    return len(ids)


def notices_retract(*, user, key_prefix: str) -> int:
    """Take back every notice of ``user`` whose key starts with ``key_prefix`` (a study the
    person withdrew from): read or not, e-mailed or not. Returns how many went."""
    return Notice.objects.filter(user=user, key__startswith=key_prefix).delete()[0]


def notice_open(*, notice: Notice) -> Notice:
    if notice.read_at is None:
        notice.read_at = timezone.now()
        notice.save(update_fields=["read_at"])
    return notice


def notices_mark_read(*, user) -> int:
    return Notice.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def email_preferences_set(*, user, emailed_kinds: Iterable[str]) -> None:
    """Keep e-mail for ``emailed_kinds`` and opt out of every other kind."""
    wanted = set(emailed_kinds)
    with transaction.atomic():
        EmailOptOut.objects.filter(user=user, kind__in=wanted).delete()
        for kind in Kind.values:
            if kind not in wanted:
                EmailOptOut.objects.get_or_create(user=user, kind=kind)


def email_to_address(
    *, address: str, key: str, subject: str, body: str, url: str = ""
) -> AddressEmail:
    """E-mail ``address``, which may belong to no account yet (a roster's invitation), once per
    ``key``: written in the caller's transaction, sent by the worker after commit like a
    notice's e-mail (``url``, a path on this site, ends the message as a link). A second call
    with the same key returns the first row and sends nothing."""
    message, created = AddressEmail.objects.get_or_create(
        key=key[:120],
        defaults={"address": address, "subject": subject[:200], "body": body, "url": url[:300]},
    )
    if created:
        transaction.on_commit(lambda: send_quietly(SEND_EMAILS))
    return message


# --- The worker's side ------------------------------------------------------------------------


def notice_emails_send(*, now=None, limit: int = 1000) -> dict[str, int]:
    """Send the e-mail of every pending notice and address e-mail whose lease is free; returns
    counts per outcome.

    Each row is claimed in its own short transaction (attempts + 1, a lease), sent outside
    it, and then marked: sent; skipped (no address, opted out, refused by the server, or
    ``MAX_ATTEMPTS`` tries); or left pending with a later lease when the server was away."""
    counts = {"sent": 0, "skipped": 0, "retry": 0}
    for model in (Notice, AddressEmail):
        tried: set[int] = set()  # each row once per run, whatever its lease says
        while len(tried) < limit:
            now_ = now or timezone.now()
            due = list(
                model.objects.filter(email=Notice.Email.PENDING)
                .filter(Q(email_lease_until__isnull=True) | Q(email_lease_until__lte=now_))
                .exclude(pk__in=tried)
                .order_by("created_at", "pk")
                .values_list("pk", flat=True)[:BATCH]
            )
            if not due:
                break
            for pk in due:
                tried.add(pk)
                outcome = _email_send(model, pk, now_)
                if outcome:
                    counts[outcome] += 1
    if any(counts.values()):
        logger.info(
            "Notice e-mails: %(sent)d sent, %(skipped)d skipped, %(retry)d to retry", counts
        )
    return counts


def _email_send(model: type[Notice] | type[AddressEmail], pk: int, now) -> str | None:
    with transaction.atomic():
        rows = model.objects.select_for_update(skip_locked=True)
        if model is Notice:
            rows = rows.select_related("user")
        row = (
            rows.filter(pk=pk, email=Notice.Email.PENDING)
            .filter(Q(email_lease_until__isnull=True) | Q(email_lease_until__lte=now))
            .first()
        )
        if row is None:
            return None
        reason = _reason_not_to_send(row) if model is Notice else ""
        if reason:
            _mark(row, Notice.Email.SKIPPED, reason)
            return "skipped"
        row.email_attempts += 1
        row.email_lease_until = now + LEASE
        row.save(update_fields=["email_attempts", "email_lease_until"])
    if model is Notice:
        to, subject, body = row.user.email, row.title, _email_body(row)
    else:
        to, subject = row.address, row.subject
        body = "\n".join([row.body, "", mail.absolute(row.url)]) if row.url else row.body
    try:
        mail.message_send(to=to, subject=subject, body=body)
    except mail.FINAL_MAIL_ERRORS as error:
        _mark(row, Notice.Email.SKIPPED, _("refused by the mail server: %(e)s") % {"e": error})
        return "skipped"
    except mail.TRANSIENT_MAIL_ERRORS as error:
        if row.email_attempts >= MAX_ATTEMPTS:
            _mark(
                row,
                Notice.Email.SKIPPED,
                _("the mail server could not be reached after %(n)d tries")
                % {"n": row.email_attempts},
            )
            return "skipped"
        # Back off: 1, 4, 9, 16 minutes.
        model.objects.filter(pk=row.pk).update(
            email_lease_until=timezone.now() + timedelta(minutes=row.email_attempts**2),
            email_note=str(error)[:200],
        )
        return "retry"
    _mark(row, Notice.Email.SENT, "")
    return "sent"


def _reason_not_to_send(notice: Notice) -> str:
    if not notice.user.is_active:
        return _("the account is inactive")
    if not notice.user.email:
        return _("no e-mail address")
    if EmailOptOut.objects.filter(user=notice.user, kind=notice.kind).exists():
        return _("opted out of this kind of e-mail")
    return ""


def _mark(row: Notice | AddressEmail, state: str, note: str) -> None:
    type(row).objects.filter(pk=row.pk).update(
        email=state,
        email_note=note[:200],
        emailed_at=timezone.now() if state == Notice.Email.SENT else None,
        email_lease_until=None,
    )


def _email_body(notice: Notice) -> str:
    name = getattr(notice.user, "public_name", "") or notice.user.get_username()
    parts = [_("Hello %(name)s,") % {"name": name}, "", notice.body or notice.title]
    if notice.url:
        parts += ["", mail.absolute(notice.url)]
    parts += [
        "",
        "-- ",
        _(
            "You get this e-mail because of your Cheetah account. Choose which e-mails you get: "
            "%(url)s"
        )
        % {"url": mail.absolute(reverse("notifications:preferences"))},
    ]
    return "\n".join(parts)


# --- Account ------------------------------------------------------------------------------


def personal_data(user) -> dict:
    return {
        "notices": [
            {
                "kind": n.kind,
                "title": n.title,
                "body": n.body,
                "created_at": n.created_at,
                "read_at": n.read_at,
                "email": n.email,
                "emailed_at": n.emailed_at,
            }
            for n in Notice.objects.filter(user=user).order_by("created_at")
        ],
        "email_opt_outs": list(
            EmailOptOut.objects.filter(user=user).values_list("kind", flat=True)
        ),
    }


def account_data_delete(user) -> None:
    Notice.objects.filter(user=user).delete()
    EmailOptOut.objects.filter(user=user).delete()
