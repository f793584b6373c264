"""Notices (what a person is told, on the site and by e-mail) and their e-mail preferences.

A notice is unique per (user, key): the key names the event ("submission:42:finished",
"phase:7:opened"), so telling someone twice about the same event changes nothing, whichever
process or retry asks.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    """What a notice is about; e-mail is opted out of per kind."""

    SUBMISSION = "submission", _("My submissions are scored or fail")
    INVITATION = "invitation", _("Team invitations and merge requests")
    PHASE = "phase", _("A phase of a challenge I joined opens or closes")
    STUDY = "study", _("Surveys of studies I take part in")
    INTERVIEW = "interview", _("Interview invitations from studies I agreed to be contacted for")
    COURSE = "course", _("Invitations to courses and news from their teachers")


class EmailDelivery(models.Model):
    """Where one e-mail stands: pending until a worker sends it or gives up (with why), the
    tries made and the lease a sending worker holds. Shared by notices and address e-mails,
    which the same worker run sends."""

    class Email(models.TextChoices):
        PENDING = "pending", _("to be sent")
        SENT = "sent", _("sent")
        SKIPPED = "skipped", _("not sent")

    email = models.CharField(max_length=10, choices=Email.choices, default=Email.PENDING)
    email_note = models.CharField(max_length=200, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    # A worker sending this e-mail holds it until then; a later try waits until then too.
    email_lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class Notice(EmailDelivery):

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(
        max_length=120, help_text=_("The event, so that one event makes one notice per person.")
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True, help_text=_("A path on this site."))
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="notice_unique_per_event"),
            models.CheckConstraint(
                condition=~Q(email="sent") | Q(emailed_at__isnull=False),
                name="notice_sent_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "read_at"], name="notice_unread"),
            models.Index(fields=["email", "created_at"], name="notice_email_due"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.title}"


class EmailOptOut(models.Model):
    """A person who wants no e-mail of one kind (the on-site notice stays)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_opt_outs"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="email_opt_out_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: no e-mail about {self.kind}"


class AddressEmail(EmailDelivery):
    """An e-mail to an address that may have no account yet (a course roster's invitation).

    Sent by the same worker run as the notices (``services.notice_emails_send``), with the same
    lease, tries and outcomes. Unique per key, so an import run twice mails once; a resend is a
    new key."""

    address = models.EmailField()
    key = models.CharField(max_length=120, unique=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    url = models.CharField(max_length=300, blank=True, help_text=_("A path on this site."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(email="sent") | Q(emailed_at__isnull=False),
                name="address_email_sent_has_time",
            ),
        ]
        indexes = [models.Index(fields=["email", "created_at"], name="address_email_due")]

    def __str__(self) -> str:
        return f"{self.address} · {self.subject}"
