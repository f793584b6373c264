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


@register.simple_tag
def released_count(cell, threshold: int) -> str:
    """A summary cell's count as the study page shows it: the number, "<k" when it is under
    the threshold ``k``, "—" when it is withheld so that a small cell cannot be found by
    subtraction (``surveys.analysis.frequencies``)."""
    if cell.count is None:
        return f"<{threshold}" if cell.small else "—"
    return str(cell.count)


@register.filter
def percent(share: float | None) -> str:
    """A share in [0, 1] as a percentage with one decimal; empty when withheld."""
    return "" if share is None else f"{share * 100:.1f}%"


@register.filter
def plain_number(value: float) -> str:
    """A statistic with at most three decimals and no trailing zeros (2.5, 3.25, 13)."""
    return f"{value:.3f}".rstrip("0").rstrip(".")
