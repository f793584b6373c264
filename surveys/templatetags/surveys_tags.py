"""Template helpers: a dictionary lookup and the survey notices."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict, key: str):
    return mapping.get(key)


@register.inclusion_tag("surveys/notices.html", takes_context=True)
def survey_notices(context) -> dict:
    """Post-survey notices for the signed-in user, shown at the top of every page."""
    from surveys.selectors import notices_for

    user = context["request"].user if "request" in context else None
    if user is None or not user.is_authenticated:
        return {"notices": []}
    return {"notices": list(notices_for(user))}
