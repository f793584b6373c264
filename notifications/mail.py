"""The one place that writes e-mail: plain text, from ``DEFAULT_FROM_EMAIL``, through the
configured backend (SMTP in production, the console in the demo).

Only the worker calls it (``services.notice_emails_send``); a request never waits on a mail
server. Errors are sorted here into those worth another try later (the server is away) and
those that never heal (the address is refused).
"""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage

# The server is away or busy: try again later.
TRANSIENT_MAIL_ERRORS = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError)
# The server answered no for this message: another try would get the same answer.
FINAL_MAIL_ERRORS = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
)


def message_send(*, to: str, subject: str, body: str) -> None:
    """Send one plain-text message to one address; raises the errors above."""
    EmailMessage(
        subject=subject.replace("\n", " ")[:200],
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    ).send(fail_silently=False)


def absolute(path: str) -> str:
    """A path on this site as a link a mail reader can open (``SITE_URL`` + path)."""
    if not path:
        return ""
    return settings.SITE_URL.rstrip("/") + path
