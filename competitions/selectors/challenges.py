"""Reads about challenges and phases: which a user may see, and which of a phase's splits and
leaderboards (the release rules decide, ``competitions.release``)."""

from __future__ import annotations

from django.db.models import QuerySet

from competitions.models import Challenge, Leaderboard, Phase
from competitions.release import released_boards, released_splits, viewer_for
from competitions.standings import primary_column


def challenges_visible_to(user) -> QuerySet[Challenge]:
    """Published public challenges, private ones the user joined, and any they organise."""
    published = Challenge.objects.filter(status=Challenge.Status.PUBLISHED)
    if not user.is_authenticated:
        return published.filter(access=Challenge.Access.PUBLIC)
    if user.is_superuser:
        return Challenge.objects.all()
    return (
        Challenge.objects.filter(
            pk__in=published.filter(access=Challenge.Access.PUBLIC).values("pk")
        )
        | Challenge.objects.filter(participants__user=user)
        | Challenge.objects.filter(organisers=user)
    ).distinct()


def phase_leaderboards_for(phase: Phase, user) -> list[Leaderboard]:
    """The phase's leaderboards this user sees (organisers all; a design arm may choose)."""
    return released_boards(viewer_for(user, phase), phase.leaderboards.all())


def phase_primary_column(phase: Phase) -> str:
    """The id of the column that gives the phase's primary value (``competitions.standings``)."""
    column = primary_column(phase)
    return column.id if column else ""


def leaderboard_splits(phase: Phase, user) -> list[str]:
    """Which splits the user may see: public always; private after the end or to organisers."""
    return released_splits(viewer_for(user, phase))
