"""Login throttling (django-axes): the backend that refuses locked-out logins, and the client
address they are counted against."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' check, for logins that come with a request.

    Every web login passes its request (the login page, the admin's, the API's token endpoint),
    so each is counted and refused once the user name and address are locked out. A call
    without a request (``manage.py`` commands, the test client's ``login()``) is not a web
    login: there is no address to count, so this backend steps aside where axes' own would
    refuse it, and the password is checked by the model backend as usual.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs,
    ):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_address(request: HttpRequest) -> str:
    """The address a login attempt is counted against (``AXES_CLIENT_IP_CALLABLE``).

    Behind ``TRUSTED_PROXY_COUNT`` reverse proxies that each append the address they saw to
    ``X-Forwarded-For``, the client is that many entries from the right; anything further left
    is whatever the client wrote there, so it is never used. Without proxies (the default) it is
    ``REMOTE_ADDR``. DRF's throttles count anonymous readers the same way (``NUM_PROXIES``).
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR", "")
