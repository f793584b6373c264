"""Mail end to end: a real worker scores a submission, writes the author's notice and sends its
e-mail to a real SMTP server this test starts (aiosmtpd); an address the server refuses is
given up with the reason, not retried. The request that caused a notice never talks to SMTP."""

from __future__ import annotations

import pytest
from django.urls import reverse

from competitions import services
from competitions.models import Submission
from notifications.models import Notice
from tests.conftest import upload
from tests.e2e.conftest import REFUSED, _free_port, smtp_env, wait_for
from tests.factories import ParticipantFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]



def test_a_scored_submission_is_e_mailed_to_its_author_by_the_worker(
    private_workers, smtp_server, open_phase, good_predictions
):
    inbox, port = smtp_server
    private_workers.start(**smtp_env(port))
    author = ParticipantFactory(
        team__challenge=open_phase.challenge, user__email="noor@uni.example"
    )
    refused = ParticipantFactory(team__challenge=open_phase.challenge, user__email=REFUSED)
    first = services.submission_create(
        phase=open_phase, user=author.user, upload=upload(good_predictions)
    )
    services.submission_create(phase=open_phase, user=refused.user, upload=upload(good_predictions))

    wait_for(lambda: inbox.messages, timeout=120, what="the e-mail at the SMTP server")
    message = inbox.messages[0]
    assert message["To"] == "noor@uni.example"
    assert message["Subject"].endswith("is scored")
    body = message.get_content()
    assert (
        "https://cheetah.example"
        + reverse("competitions:submission", args=[open_phase.challenge.slug, first.pk])
        in body
    )
    assert Submission.objects.get(pk=first.pk).status == Submission.Status.SCORED

    gave_up = wait_for(
        lambda: Notice.objects.filter(user=refused.user, email=Notice.Email.SKIPPED).first(),
        timeout=120,
        what="the refused address to be given up",
    )
    assert "refused" in gave_up.email_note and gave_up.email_attempts == 1
    assert len(inbox.messages) == 1
    sent = Notice.objects.get(user=author.user)
    assert sent.email == Notice.Email.SENT and sent.emailed_at is not None


def test_an_invitation_answers_at_once_while_no_mail_server_listens(
    client, open_phase, settings, private_workers
):
    """The web process is pointed at a port where nothing listens: had the request tried to
    send the e-mail itself, it would have failed or hung. (Its mail run goes to a private queue
    no worker reads.)"""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()
    inviter = ParticipantFactory(team__challenge=open_phase.challenge)
    UserFactory(username="ola", email="ola@uni.example")
    client.force_login(inviter.user)
    response = client.post(
        reverse("competitions:team-invite", args=[open_phase.challenge.slug]),
        {"username": "ola"},
    )
    assert response.status_code == 302
    notice = Notice.objects.get(user__username="ola")
    assert notice.email == Notice.Email.PENDING and notice.email_attempts == 0
