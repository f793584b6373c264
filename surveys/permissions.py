"""The one check of who reaches a study's research pages (study page, export, contacts,
interviews, responses)."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from surveys import selectors
from surveys.models import Study


def researched_or_404(request: HttpRequest, slug: str) -> Study:
    """The study, if the user is one of its researchers; 404 for everyone else (organisers of
    its challenge included), so study slugs cannot be probed."""
    if not request.user.is_authenticated:
        raise Http404
    return get_object_or_404(selectors.researched_by(request.user), slug=slug)
