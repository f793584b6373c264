"""Sign up, display names on leaderboards, and password reset by (console) e-mail."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_signing_up_logs_in_with_a_display_name(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "newbie", "email": "n@example.org", "display_name": "Night Owl",
            "password1": "a-long-secret-42", "password2": "a-long-secret-42",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert user.public_name == "Night Owl"
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_a_password_reset_mails_a_link_that_sets_a_new_password(client):
    UserFactory(username="forgetful", email="f@example.org")
    client.post(reverse("password_reset"), {"email": "f@example.org"})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(form_url, {"new_password1": "brand-new-secret-7", "new_password2":
                           "brand-new-secret-7"})
    assert client.login(username="forgetful", password="brand-new-secret-7")
