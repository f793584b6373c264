"""Template helpers: a dictionary lookup and the notice of surveys waiting for the user."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict, key: str):
    return mapping.get(key)


@register.inclusion_tag("surveys/notices.html", takes_context=True)
def survey_notices(context) -> dict:
    """Open surveys waiting for the signed-in user (a pre-survey after joining, a post-survey
    after its announcement), shown at the top of every page until answered."""
    from surveys.selectors import surveys_due

    user = context["request"].user if "request" in context else None
    if user is None or not user.is_authenticated:
        return {"surveys": []}
    return {"surveys": surveys_due(user)}
