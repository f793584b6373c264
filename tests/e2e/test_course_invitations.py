"""A roster's invitations end to end: the teacher's upload answers at once, and a real worker
sends each student's invitation through a real SMTP server this test starts (aiosmtpd) — an
e-mail with the student's own link for an address without an account, the notice's e-mail for
an account with that address."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from competitions.models import RosterEntry
from notifications.models import AddressEmail, Notice
from tests.e2e.conftest import smtp_env, wait_for
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_roster_invitations_are_e_mailed_by_the_worker(
    client, private_workers, smtp_server, open_phase
):
    inbox, port = smtp_server
    private_workers.start(**smtp_env(port))
    challenge = open_phase.challenge
    teacher = UserFactory(username="teacher")
    challenge.organisers.add(teacher)
    UserFactory(username="ben", email="ben@uni.example")
    client.force_login(teacher)
    response = client.post(
        reverse("competitions:course-roster", args=[challenge.slug]),
        {"roster": SimpleUploadedFile(
            "roster.csv",
            b"email,name\nana@uni.example,Ana\nnope,Bad\nben@uni.example,Ben\n")},
    )
    assert response.status_code == 200 and "Line 3 (nope)" in response.content.decode()

    wait_for(lambda: len(inbox.messages) >= 2, timeout=120, what="two invitations at the server")
    by_address = {message["To"]: message for message in inbox.messages}
    assert set(by_address) == {"ana@uni.example", "ben@uni.example"}
    for address in by_address:
        entry = RosterEntry.objects.get(email=address)
        link = "https://cheetah.example" + reverse(
            "competitions:course-join", args=[challenge.slug, entry.token])
        assert link in by_address[address].get_content()
        assert challenge.title in by_address[address]["Subject"]
    assert AddressEmail.objects.get(address="ana@uni.example").email == "sent"
    assert Notice.objects.get(user__username="ben").email == Notice.Email.SENT
