"""Notices and their e-mail: one per person and event, sent by the worker's mail run (called
here in-process; tests/e2e/test_mail_worker.py runs it in a real worker against a real SMTP
server), skipped for those who opted out, retried while the mail server is away."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from competitions import services as competition_services
from competitions.models import Submission
from competitions.notices import phase_changes_announce
from notifications import services, tasks
from notifications.models import EmailOptOut, Kind, Notice
from tests.conftest import score_now, upload
from tests.factories import ParticipantFactory, PhaseFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _notify(user, key="event:1", kind=Kind.SUBMISSION, **fields) -> int:
    return services.notify(
        user_ids=[user.pk],
        kind=kind,
        key=key,
        title=fields.get("title", "Something happened"),
        body=fields.get("body", "Here is what."),
        url=fields.get("url", "/c/x/"),
    )


def test_one_event_makes_one_notice_and_one_e_mail_however_often_it_is_told(settings):
    settings.SITE_URL = "https://cheetah.example"
    user = UserFactory(username="noor", email="noor@uni.example")
    assert _notify(user) == 1
    assert _notify(user) == 0
    assert Notice.objects.filter(user=user).count() == 1

    assert tasks.send_notice_emails() == {"sent": 1, "skipped": 0, "retry": 0}
    assert tasks.send_notice_emails() == {"sent": 0, "skipped": 0, "retry": 0}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["noor@uni.example"] and message.subject == "Something happened"
    assert "https://cheetah.example/c/x/" in message.body
    assert "https://cheetah.example" + reverse("notifications:preferences") in message.body
    notice = Notice.objects.get(user=user)
    assert notice.email == Notice.Email.SENT and notice.emailed_at is not None


def test_an_opted_out_kind_is_not_e_mailed_but_stays_on_the_site(client):
    user = UserFactory(email="ana@uni.example")
    client.force_login(user)
    response = client.post(
        reverse("notifications:preferences"), {"kinds": [Kind.INVITATION, Kind.PHASE]}
    )
    assert response.status_code == 302
    assert set(EmailOptOut.objects.filter(user=user).values_list("kind", flat=True)) == {
        Kind.SUBMISSION,
        Kind.STUDY,
        Kind.INTERVIEW,
        Kind.COURSE,
    }
    _notify(user, key="a", kind=Kind.SUBMISSION)
    _notify(user, key="b", kind=Kind.INVITATION)
    assert tasks.send_notice_emails() == {"sent": 1, "skipped": 1, "retry": 0}
    assert [m.subject for m in mail.outbox] == ["Something happened"]
    skipped = Notice.objects.get(user=user, key="a")
    assert skipped.email == Notice.Email.SKIPPED and "opted out" in skipped.email_note
    page = client.get(reverse("notifications:notices"))
    assert page.content.decode().count("Something happened") == 2


def test_an_account_without_an_address_gets_the_notice_only():
    user = UserFactory(email="")
    _notify(user)
    assert tasks.send_notice_emails()["skipped"] == 1
    assert not mail.outbox
    assert Notice.objects.get(user=user).email_note == "no e-mail address"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_while_the_mail_server_is_away_the_notice_waits_and_is_given_up_after_five_tries(
    settings,
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _closed_port()
    settings.EMAIL_TIMEOUT = 2
    user = UserFactory(email="sam@uni.example")
    _notify(user)
    assert tasks.send_notice_emails() == {"sent": 0, "skipped": 0, "retry": 1}
    notice = Notice.objects.get(user=user)
    assert notice.email == Notice.Email.PENDING and notice.email_attempts == 1
    assert notice.email_lease_until > timezone.now()
    assert tasks.send_notice_emails() == {"sent": 0, "skipped": 0, "retry": 0}  # backing off

    for attempt in range(2, services.MAX_ATTEMPTS + 1):
        later = timezone.now() + timedelta(hours=attempt)
        outcome = services.notice_emails_send(now=later)
        assert outcome["retry" if attempt < services.MAX_ATTEMPTS else "skipped"] == 1
    notice.refresh_from_db()
    assert notice.email == Notice.Email.SKIPPED and notice.email_attempts == services.MAX_ATTEMPTS
    assert "could not be reached" in notice.email_note


def test_the_author_is_told_when_a_submission_is_scored_and_when_one_fails(
    open_phase, participant, good_predictions
):
    scored = competition_services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(good_predictions)
    )
    score_now(scored)
    broken = competition_services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(b"case_id,score\nnope,1\n")
    )
    score_now(broken)
    scored.refresh_from_db()
    broken.refresh_from_db()
    assert scored.status == Submission.Status.SCORED and broken.status == Submission.Status.FAILED
    notices = {n.key: n for n in Notice.objects.filter(user=participant.user)}
    assert set(notices) == {f"submission:{scored.pk}:scored", f"submission:{broken.pk}:failed"}
    assert notices[f"submission:{scored.pk}:scored"].url == reverse(
        "competitions:submission", args=[open_phase.challenge.slug, scored.pk]
    )
    assert notices[f"submission:{broken.pk}:failed"].body == broken.message.splitlines()[0]
    # No score leaves in a notice: the numbers are on the page it links to, released there.
    told = notices[f"submission:{scored.pk}:scored"]
    assert told.title == (
        f"Submission #{scored.label} to {open_phase.challenge.title} · {open_phase.name} is scored"
    )
    assert told.body == "Its results are on the submission's page."


def test_an_invitation_and_a_merge_request_reach_the_people_asked(open_phase):
    inviter = ParticipantFactory(team__challenge=open_phase.challenge, user__display_name="Ines")
    invitee = UserFactory(username="ola")
    competition_services.team_invite(team=inviter.team, invited_by=inviter.user, username="ola")
    competition_services.team_invite(team=inviter.team, invited_by=inviter.user, username="ola")
    notice = Notice.objects.get(user=invitee)
    assert notice.kind == Kind.INVITATION and "Ines" in notice.title
    assert inviter.team.name in notice.title

    other = TeamFactory(challenge=open_phase.challenge, name="Lynx")
    members = [ParticipantFactory(team=other).user for _ in range(2)]
    competition_services.team_merge_request(team=inviter.team, user=inviter.user, into_name="Lynx")
    for member in members:
        assert Notice.objects.get(user=member, kind=Kind.INVITATION).url == reverse(
            "competitions:team", args=[open_phase.challenge.slug]
        )
    assert not Notice.objects.filter(user=inviter.user).exists()


def test_participants_who_had_joined_are_told_once_a_phase_opens_and_once_it_closes():
    now = timezone.now()
    phase = PhaseFactory(start=now + timedelta(hours=1), end=now + timedelta(days=3))
    early = ParticipantFactory(team__challenge=phase.challenge)
    assert phase_changes_announce(now=now) == 0

    opened = now + timedelta(hours=2)
    late = ParticipantFactory(team__challenge=phase.challenge)
    type(late).objects.filter(pk=late.pk).update(joined_at=opened + timedelta(minutes=1))
    assert phase_changes_announce(now=opened) == 1
    assert phase_changes_announce(now=opened + timedelta(minutes=5)) == 0
    assert Notice.objects.get(user=early.user).key == f"phase:{phase.pk}:opened"

    closed = now + timedelta(days=3, minutes=1)
    assert phase_changes_announce(now=closed) == 2
    assert set(
        Notice.objects.filter(key=f"phase:{phase.pk}:closed").values_list("user_id", flat=True)
    ) == {early.user_id, late.user_id}


def test_the_notices_page_marks_what_was_opened_and_the_header_counts_the_rest(client):
    user = UserFactory()
    _notify(user, key="a", title="First", url="/c/alpha/")
    _notify(user, key="b", title="Second")
    client.force_login(user)
    home = client.get(reverse("competitions:challenge-list")).content.decode()
    assert "Notices (2 new)" in home
    first = Notice.objects.get(user=user, key="a")
    opened = client.get(reverse("notifications:open", args=[first.pk]))
    assert opened.status_code == 302 and opened["Location"] == "/c/alpha/"
    assert "Notices (1 new)" in client.get(reverse("notifications:notices")).content.decode()
    client.post(reverse("notifications:read"))
    assert "new)" not in client.get(reverse("notifications:notices")).content.decode()


def test_a_notice_is_its_owners_alone_and_never_sends_anyone_off_site(client):
    owner, other = UserFactory(), UserFactory()
    _notify(owner, key="a")
    Notice.objects.create(
        user=other, kind=Kind.PHASE, key="evil", title="x", url="https://evil.example/"
    )
    client.force_login(other)
    assert (
        client.get(
            reverse("notifications:open", args=[Notice.objects.get(user=owner).pk])
        ).status_code
        == 404
    )
    evil = Notice.objects.get(user=other)
    assert client.get(reverse("notifications:open", args=[evil.pk]))["Location"] == reverse(
        "notifications:notices"
    )
    client.logout()
    assert client.get(reverse("notifications:notices")).status_code == 302


def test_a_deleted_account_takes_its_notices_and_choices_and_the_download_lists_them(client):
    from accounts import services as account_services
    from accounts.selectors import personal_data

    user = UserFactory()
    _notify(user, title="About you")
    EmailOptOut.objects.create(user=user, kind=Kind.PHASE)
    data = personal_data(user)
    assert data["notices"][0]["title"] == "About you" and data["email_opt_outs"] == ["phase"]
    account_services.account_delete(user=user)
    assert not Notice.objects.filter(title="About you").exists()
    assert not EmailOptOut.objects.exists()
