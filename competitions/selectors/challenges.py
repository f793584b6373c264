"""Reads about challenges and phases: which a user may see, and which of a phase's splits and
leaderboards (the release rules decide, ``competitions.release``)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from competitions.models import Challenge, Leaderboard, Phase
from competitions.quota import remaining_for
from competitions.release import released_boards, released_splits, viewer_cache, viewer_for
from competitions.standings import board_primary_column


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


def phases_overview(phases, user) -> dict[int, dict]:
    """Per phase, for a list such as the API's challenges: the boards the user sees, the primary
    column's id and the quota left (None outside the challenge). A bounded number of queries
    per challenge, not per phase, when the phases come with ``leaderboards__columns`` prefetched
    (the design arms' filter adds its own)."""
    phases = list(phases)
    viewer_of = viewer_cache(user)
    left = remaining_for(phases, user, timezone.now()) if user.is_authenticated else {}
    overview = {}
    for phase in phases:
        viewer = viewer_of(phase)
        boards = list(phase.leaderboards.all())
        primary = board_primary_column(next((b for b in boards if b.is_primary), None))
        overview[phase.pk] = {"boards": released_boards(viewer, boards),
                              "primary": primary.id if primary else "",
                              "quota": left.get(phase.pk)}
    return overview


def leaderboard_splits(phase: Phase, user) -> list[str]:
    """Which splits the user may see: public always; private after the end or to organisers."""
    return released_splits(viewer_for(user, phase))
