"""The key of a phase's challenge report: which state of the phase a stored report shows.

A stored report (``PhaseReport``) is served only while its key is the phase's current key, so
the key must change with every input that changes what the report holds:

- ``snapshot_version``: the newest leaderboard snapshot's version (a new scored submission, a
  team's pick, a changed board: the worker ranks the field again);
- ``inputs``, a digest of the rest: the challenge's and the phase's settings with its end and
  the publication of its scores (``board_cache.board_cache_version``), every snapshot's time
  and the state of its analyses — the bootstrap intervals and pairwise comparisons the field
  queue adds after the ranking (``analysis``, ``analysed_at``) —, the latest similarity report
  of each split, the team names
  (``board_cache.team_generation``), the boards' columns, and ``RENDER_VERSION``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db.models import Max

from competitions.board_cache import board_cache_version, team_generation
from competitions.models import (
    LeaderboardColumn,
    LeaderboardSnapshot,
    Phase,
    SimilarityReport,
)

# Bump when the report's template or its tables change, so a deploy builds reports anew.
RENDER_VERSION = 1


@dataclass(frozen=True)
class ReportKey:
    snapshot_version: int
    inputs: str


def report_key(phase: Phase) -> ReportKey:
    """The phase's current report key (three queries)."""
    snapshots = list(
        LeaderboardSnapshot.objects.filter(leaderboard__phase=phase)
        .order_by("leaderboard_id", "split")
        .values_list("pk", "split", "version", "computed_at", "analysis", "analysed_at")
    )
    similarity = list(
        SimilarityReport.objects.filter(phase=phase).values("split")
        .annotate(latest=Max("computed_at")).order_by("split").values_list("split", "latest")
    )
    columns = list(
        LeaderboardColumn.objects.filter(leaderboard__phase=phase)
        .order_by("leaderboard_id", "order", "pk")
        .values_list("leaderboard_id", "column_id", "title", "ranked", "shown")
    )
    parts = [RENDER_VERSION, board_cache_version(phase), team_generation(phase.challenge_id),
             snapshots, [(split, at.isoformat()) for split, at in similarity], columns]
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    return ReportKey(snapshot_version=max((s[2] for s in snapshots), default=0), inputs=digest)
