"""Rate limits for the pages that a script could hammer: the leaderboard downloads share the
API's throttles (per token or user, and per address for anonymous readers), and guesses of a
private challenge's invitation code are limited per user and per address.

Counted in the cache like DRF's own throttles; a refusal is HTTP 429 with ``Retry-After`` and a
page that says when to try again.
"""

from __future__ import annotations

import math

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class InvitationCodeThrottle(SimpleRateThrottle):
    """Attempts to join a private challenge, per user (``scope`` "invitation")."""

    scope = "invitation"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": f"user-{request.user.pk}"}


class InvitationCodeAddressThrottle(InvitationCodeThrottle):
    """The same attempts per address, so several accounts on one connection share a limit."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def _refusal(request: HttpRequest, throttles) -> HttpResponse | None:
    # DRF's throttles read only ``user`` and ``META``, which the page's own request has; a DRF
    # Request around it would authenticate again and could replace its user.
    waits = [t.wait() for t in throttles if not t.allow_request(request, None)]
    if not waits:
        return None
    seconds = max(1, math.ceil(max((w for w in waits if w is not None), default=60)))
    response = render(request, "competitions/throttled.html", {"seconds": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def api_throttle_refusal(request: HttpRequest) -> HttpResponse | None:
    """A 429 once the caller used the API's rate (the same counters as the API), else None."""
    return _refusal(request, [cls() for cls in api_settings.DEFAULT_THROTTLE_CLASSES])


def invitation_throttle_refusal(request: HttpRequest) -> HttpResponse | None:
    """A 429 once the user, or their address, tried too many invitation codes, else None."""
    return _refusal(request, [InvitationCodeThrottle(), InvitationCodeAddressThrottle()])
