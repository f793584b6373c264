"""Ask again at the next visit: a signed-in participant whose study has a consent version they
have not answered is sent to the consent page before any other page."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from surveys import selectors

# Pages that stay reachable while consent is pending: the consent pages themselves, the
# privacy settings, logging out, the admin, static files and machine-read JSON.
EXEMPT_PREFIXES = ("/studies/", "/accounts/", "/admin/", "/api/", "/static/", "/media/")


class ConsentMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.method == "GET"
            and request.user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
            and not request.path.endswith((".json", ".csv"))
        ):
            due = selectors.studies_needing_consent(request.user)
            if due:
                study, _version = due[0]
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('surveys:consent', args=[study.slug])}?{query}")
        return self.get_response(request)
