"""Guessing passwords and hammering the API are both cut short: django-axes locks a user name
on one address after AXES_FAILURE_LIMIT failed logins, and DRF's throttles answer 429 once a
token has used its rate."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle

from competitions.models import Challenge
from tests.factories import ChallengeFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "secret-pass-123"  # tests.factories.UserFactory's


def _login(client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password},
                       REMOTE_ADDR=address)


def _fail(client, username: str, times: int, address: str = "10.0.0.1") -> None:
    for _ in range(times):
        response = _login(client, username, "wrong-password", address)
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()


def test_the_limit_locks_the_name_on_that_address_with_a_clear_message(client):
    user = UserFactory()
    _fail(client, user.username, settings.AXES_FAILURE_LIMIT - 1)
    response = _login(client, user.username, "wrong-password")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed logins" in page and reverse("password_reset") in page
    # Now even the right password is refused, on the page and at the API's token endpoint.
    assert _login(client, user.username, PASSWORD).status_code == 429
    token = client.post(reverse("api:token"), {"username": user.username, "password": PASSWORD},
                        REMOTE_ADDR="10.0.0.1")
    assert "token" not in token.json()
    # The same name from another address still logs in: a stranger cannot lock a user out.
    assert _login(client, user.username, PASSWORD, address="10.0.0.2").status_code == 302


def test_a_successful_login_clears_the_count(client):
    user = UserFactory()
    _fail(client, user.username, settings.AXES_FAILURE_LIMIT - 1)
    assert _login(client, user.username, PASSWORD).status_code == 302
    client.logout()
    _fail(client, user.username, settings.AXES_FAILURE_LIMIT - 1)
    assert _login(client, user.username, PASSWORD).status_code == 302


def test_the_api_token_endpoint_counts_failures_too(client):
    user = UserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("api:token"), {"username": user.username, "password": "nope"},
                    REMOTE_ADDR="10.0.0.3")
    assert _login(client, user.username, PASSWORD, address="10.0.0.3").status_code == 429


@pytest.fixture
def small_rates(monkeypatch):
    """DRF's throttles read their rates once, into a class attribute: set a small one there,
    and start from an empty count (the cache may be a Redis shared with earlier runs)."""
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/minute",
                                                               "anon": "2/minute"})
    cache.clear()
    yield
    cache.clear()


def test_a_token_gets_429_past_its_rate_and_other_tokens_go_on(client, small_rates):
    first, second = (Token.objects.create(user=UserFactory()) for _ in range(2))
    url = reverse("api:submissions")

    def get(token):
        return client.get(url, HTTP_AUTHORIZATION=f"Token {token.key}")

    assert [get(first).status_code for _ in range(3)] == [200, 200, 200]
    refused = get(first)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "throttled" in refused.json()["detail"].lower()
    assert get(second).status_code == 200


def test_anonymous_readers_are_limited_per_address(client, small_rates):
    url = reverse("api:challenges")
    codes = [client.get(url, REMOTE_ADDR="10.0.0.9").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.get(url, REMOTE_ADDR="10.0.0.10").status_code == 200


def test_a_forged_forwarded_for_header_does_not_escape_the_limit(client, small_rates):
    url = reverse("api:challenges")
    codes = [client.get(url, REMOTE_ADDR="10.0.0.11", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
             .status_code for n in range(3)]
    assert codes == [200, 200, 429]


def test_behind_a_trusted_proxy_logins_count_the_forwarded_client(client, settings):
    """With one proxy, the right-most X-Forwarded-For entry is the client; what the client
    itself put further left is ignored."""
    settings.TRUSTED_PROXY_COUNT = 1
    user = UserFactory()
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": user.username, "password": "nope"},
                    REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 198.51.100.7")
    locked = client.post(reverse("login"), {"username": user.username, "password": PASSWORD},
                         REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert locked.status_code == 429
    other = client.post(reverse("login"), {"username": user.username, "password": PASSWORD},
                        REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert other.status_code == 302


def test_leaderboard_downloads_share_the_apis_throttle(client, small_rates, open_phase):
    url = reverse("competitions:leaderboard-export",
                  args=[open_phase.challenge.slug, open_phase.slug, "json"])
    codes = [client.get(url, REMOTE_ADDR="10.0.0.20").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    # The same counter as the API's: the address's API reads are refused too.
    assert client.get(reverse("api:challenges"), REMOTE_ADDR="10.0.0.20").status_code == 429


def test_guessing_an_invitation_code_is_cut_short_per_user_and_per_address(client, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"invitation": "3/hour"})
    cache.clear()
    challenge = ChallengeFactory(access=Challenge.Access.PRIVATE, invitation_code="s3cret-code")
    url = reverse("competitions:challenge-join", args=[challenge.slug])
    guesser = UserFactory()
    client.force_login(guesser)

    def guess(code, address="10.0.0.30"):
        return client.post(url, {"accept_rules": "on", "invitation_code": code},
                           REMOTE_ADDR=address)

    assert [guess(f"guess-{n}").status_code for n in range(3)] == [302, 302, 302]
    refused = guess("s3cret-code")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many requests" in refused.content.decode()
    assert not challenge.participants.exists()  # even the right code waits
    # A second account on the same connection shares the address's limit.
    client.force_login(UserFactory())
    assert guess("s3cret-code").status_code == 429
    cache.clear()
