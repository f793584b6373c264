"""Keys for leaderboard pages rendered once per snapshot (``presentation.board_pages``).

A cached page is only as right as its key: every input that changes what a viewer sees must be
in it, and nothing that differs between two viewers who share a key may be in the cached part.

- ``board_cache_version(phase)``: a hash of the challenge's and the phase's settings (every
  concrete field, so a new setting — a reference entry, per-metric floors, course mode, the
  release policy, the publication time — is covered the day it is added) and of the phase's
  state in time (started, ended, scores hidden). A setting kept in another table is added to
  ``_phase_config`` below.
- ``team_generation(challenge_id)``: a number in the cache that changes whenever a team, a
  member or a fact sheet changes (names, anonymity, members, costs: read live, not from the
  snapshot). Bumped by signals on save and delete and by the services that write with
  ``update()`` (``bump_team_generation``).
- ``page_key``: the above with the snapshot (id, time, and the state of its analyses: a page
  drawn while the rank intervals were being computed is not served once they land), the board
  and its columns, the split, the attribute, the page, the audience
  (``competitions.release.release_audience``) and the language.
"""

from __future__ import annotations

import hashlib
import time

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.utils import timezone, translation

from competitions.models import (
    FactSheet,
    Leaderboard,
    LeaderboardColumn,
    Participant,
    Phase,
    Submission,
    Team,
)
from competitions.release import Viewer, release_audience

# Bump when the cached fragment's template or the released table's shape changes, so a deploy
# never serves a fragment rendered by the old code (entries also expire after the timeout).
RENDER_VERSION = 2


def _fields(instance) -> list:
    return [(f.attname, getattr(instance, f.attname)) for f in instance._meta.concrete_fields]


def _phase_config(phase: Phase) -> list:
    """What of the phase and its challenge decides a leaderboard page, as plain data."""
    now = timezone.now()
    return [
        _fields(phase.challenge),
        _fields(phase),
        ("started", phase.start <= now), ("ended", phase.has_ended),
        ("scores_hidden", phase.scores_hidden),
    ]


def _digest(parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def board_cache_version(phase: Phase) -> str:
    """A hash that changes with any setting of the phase or its challenge, with its end and with
    the publication of its scores."""
    return _digest(_phase_config(phase))


def _team_generation_key(challenge_id: int) -> str:
    return f"board-teams:{challenge_id}"


def team_generation(challenge_id: int) -> int:
    return cache.get(_team_generation_key(challenge_id), 0)


def bump_team_generation(challenge_id: int) -> None:
    """Cached pages of the challenge stop being used (a team's name, anonymity or members
    changed)."""
    cache.set(_team_generation_key(challenge_id), time.time_ns(), None)


def _team_changed(sender, instance, **kwargs) -> None:
    bump_team_generation(instance.challenge_id)


def _fact_sheet_changed(sender, instance, **kwargs) -> None:
    bump_team_generation(
        Submission.objects.filter(pk=instance.submission_id)
        .values_list("phase__challenge_id", flat=True).first()
    )


def _user_changed(sender, instance, update_fields=None, **kwargs) -> None:
    # A name a leaderboard shows under its team; a sign-in (last_login) changes none.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    for challenge_id in set(Participant.objects.filter(user_id=instance.pk)
                            .values_list("challenge_id", flat=True)):
        bump_team_generation(challenge_id)


def connect_signals() -> None:
    """Saves and deletes that change what a page shows outside the snapshot (CompetitionsConfig
    .ready). Writes through ``update()`` call ``bump_team_generation`` themselves."""
    for model in (Team, Participant):
        post_save.connect(_team_changed, sender=model, dispatch_uid=f"board-cache-{model}")
        post_delete.connect(_team_changed, sender=model, dispatch_uid=f"board-cache-{model}-d")
    post_save.connect(_fact_sheet_changed, sender=FactSheet, dispatch_uid="board-cache-fact")
    post_delete.connect(_fact_sheet_changed, sender=FactSheet, dispatch_uid="board-cache-fact-d")
    post_save.connect(_user_changed, sender=get_user_model(), dispatch_uid="board-cache-user")


def page_key(board: Leaderboard, *, split: str, attribute: str, viewer: Viewer,
             snapshot: tuple | None) -> str:
    """The cache key of ``board``'s page as ``viewer``'s audience sees it; ``snapshot`` is the
    snapshot's (id, computed_at, analysis state, analysed_at)
    (``selectors.leaderboards.leaderboard_snapshot_stamp``), None when there is none yet: a
    new ranking and the analyses landing on it each change the key. One query (the columns)."""
    phase = board.phase
    columns = list(
        LeaderboardColumn.objects.filter(leaderboard=board).order_by("order", "pk")
        .values_list("column_id", "title", "ranked", "shown", "order")
    )
    parts = [
        RENDER_VERSION, board_cache_version(phase), _fields(board), columns,
        tuple(snapshot) if snapshot else None,  # its times by repr: microseconds and zone
        team_generation(phase.challenge_id), translation.get_language(),
        timezone.get_current_timezone_name(),
    ]
    audience = release_audience(viewer)
    return f"board-page:{board.pk}:{split}:{audience}:{_digest([*parts, attribute])}"
