"""The header's link to the notices page, with the number not yet read."""

from __future__ import annotations

from django import template

from notifications import selectors

register = template.Library()


@register.inclusion_tag("notifications/header_link.html", takes_context=True)
def notices_link(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    return {"show": True, "unread": selectors.unread_count(user)}
