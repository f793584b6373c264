"""Login throttling at the authentication backend (django-axes)."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
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
