"""Template helpers: sanitised markdown, metric values and names, local times."""

from __future__ import annotations

import markdown as markdown_lib
import nh3
from django import template
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from competitions.metrics import glossary_anchor

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


@register.simple_tag
def metric_link(column_id: str, task: str, label: str = "") -> str:
    """A metric's name (or a column id, ``sensitivity@sex=female``, or its title ``label``)
    linked to the metric's glossary entry: every page names metrics through this tag."""
    metric_id = str(column_id).partition("@")[0]
    return format_html('<a class="metric-name" href="{}#{}">{}</a>',
                       reverse("competitions:glossary"), glossary_anchor(metric_id, task),
                       label or column_id)


@register.filter
def code_spans(text: str) -> str:
    """The registry's plain text with `code` in backticks, as HTML: escaped, and each
    backticked part in <code>."""
    parts = str(text or "").split("`")
    return mark_safe("".join(  # noqa: S308 - every part is escaped
        format_html("<code>{}</code>", part) if index % 2 else escape(part)
        for index, part in enumerate(parts)
    ))


@register.filter
def quantity(value, digits: int = 2) -> str:
    """An estimate such as kWh or kg CO2e: an em dash when none was declared or estimated,
    "< 0.01" for a positive amount that rounds to zero (not "0.00", which reads as none)."""
    if value is None or value == "":
        return "—"
    number = float(value)
    smallest = 10 ** -int(digits)
    if 0 < number < smallest:
        return f"< {smallest:.{int(digits)}f}"
    return f"{number:.{int(digits)}f}"


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


@register.simple_tag
def metric_cell(cell: dict) -> str:
    """A leaderboard cell: the value with its 95% interval, a small group marked (its value is
    withheld from participants) and a group hidden with one, the group a worst-group column
    found. A tag rather than an
    included template: a 1,000-team leaderboard has thousands of cells."""
    value = cell.get("value")
    sort_key = "" if value is None else value
    if cell.get("small") and value is None:
        return format_html(
            '<td data-value=""><span class="small-group" title="{}">{}</span></td>',
            _("A small group: its value can reveal individual labels"), _("small"),
        )
    if cell.get("suppressed") and value is None:
        return format_html(
            '<td data-value=""><span class="small-group" title="{}">{}</span></td>',
            _("Hidden so that a small group's value cannot be worked out from the others"),
            _("hidden"),
        )
    parts = [format_html("{}", metric(value))]
    if cell.get("outside_interval"):
        parts.append(interval_mark())
    if cell.get("ci"):
        low, high = cell["ci"]
        parts.append(format_html("<br><small>{}–{}</small>", metric(low), metric(high)))
    if cell.get("small"):
        parts.append(format_html(' <span class="small-group">{}</span>', _("small")))
    if cell.get("group"):
        parts.append(format_html("<br><small>{}</small>", cell["group"]))
    return format_html('<td data-value="{}">{}</td>', sort_key, mark_safe("".join(parts)))  # noqa: S308


@register.simple_tag
def interval_mark() -> str:
    """The mark of a value that lies outside its own interval; the page's note explains it."""
    return format_html('<sup class="interval-mark" title="{}">†</sup>',
                       _("Outside its own interval: see the note below the table"))


@register.simple_tag
def release_policy(phase) -> str:
    """The phase's release policy in plain words (``competitions.release``)."""
    from competitions.release import release_policy_text

    return release_policy_text(phase)
