"""Template helpers: sanitised markdown, metric values, local times."""

from __future__ import annotations

import markdown as markdown_lib
import nh3
from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    """Organisers write markdown; nh3 strips scripts and event handlers from the HTML."""
    html = markdown_lib.markdown(text or "", extensions=["tables", "fenced_code"])
    return mark_safe(nh3.clean(html))  # noqa: S308 - sanitised just above


@register.filter
def metric(value) -> str:
    """A metric value for display: three decimals, or an em dash for undefined."""
    if value is None or value == "":
        return "—"
    try:
        return f"{float(value):.3f}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)


@register.simple_tag
def localtime_tag(value):
    """A <time> element: UTC text that static/cheetah/app.js rewrites in the viewer's zone."""
    if value is None:
        return "—"
    return format_html(
        '<time datetime="{}" data-local>{} UTC</time>',
        value.isoformat(),
        value.strftime("%Y-%m-%d %H:%M"),
    )
