"""Reads for the notices page, the header's count and the e-mail preferences form."""

from __future__ import annotations

from django.db.models import QuerySet

from notifications.models import EmailOptOut, Kind, Notice


def notices_of(user) -> QuerySet[Notice]:
    return Notice.objects.filter(user=user).order_by("-created_at", "-pk")


def unread_count(user) -> int:
    return Notice.objects.filter(user=user, read_at__isnull=True).count()


def emailed_kinds(user) -> list[str]:
    """The kinds of notice this person gets by e-mail (every kind they did not opt out of)."""
    out = set(EmailOptOut.objects.filter(user=user).values_list("kind", flat=True))
    return [kind for kind in Kind.values if kind not in out]
