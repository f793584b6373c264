"""A burst of scored submissions queues one leaderboard refresh and one similarity update each;
the first to run covers them all and the others return without ranking the same field again."""

from __future__ import annotations

import pytest
from django.utils import timezone

from competitions.leaderboards import ensure_default_leaderboard
from competitions.models import LeaderboardSnapshot, SimilarityReport
from competitions.tasks import compute_phase_similarity, refresh_phase_leaderboards
from tests.competitions.builders import make_scored, make_teams

pytestmark = pytest.mark.django_db


def test_refreshes_asked_for_before_the_last_snapshot_began_do_nothing(open_phase):
    board = ensure_default_leaderboard(open_phase)
    first, second, late = make_teams(open_phase, 3)
    make_scored(open_phase, first, auroc=0.7)
    asked = timezone.now().isoformat()
    make_scored(open_phase, second, auroc=0.8)  # scored while the first refresh waited

    assert refresh_phase_leaderboards(open_phase.pk, requested_at=asked) > 0
    snapshot = LeaderboardSnapshot.objects.get(leaderboard=board, split="public")
    assert [row["team"] for row in snapshot.rows] == [second.team_id, first.team_id]
    assert refresh_phase_leaderboards(open_phase.pk, requested_at=asked) == 0
    assert LeaderboardSnapshot.objects.get(pk=snapshot.pk).computed_at == snapshot.computed_at

    make_scored(open_phase, late, auroc=0.9)
    assert refresh_phase_leaderboards(
        open_phase.pk, requested_at=timezone.now().isoformat()
    ) > 0
    rows = LeaderboardSnapshot.objects.get(pk=snapshot.pk).rows
    assert rows[0]["team"] == late.team_id


def test_a_refresh_without_a_request_time_always_ranks(open_phase):
    ensure_default_leaderboard(open_phase)
    make_scored(open_phase, make_teams(open_phase, 1)[0], auroc=0.7)
    assert refresh_phase_leaderboards(open_phase.pk) > 0
    assert refresh_phase_leaderboards(open_phase.pk) > 0


def test_similarity_updates_asked_for_before_the_last_report_began_do_nothing(field):
    phase, _scores = field
    asked = timezone.now().isoformat()
    assert compute_phase_similarity(phase.pk, requested_at=asked) >= 1
    reports = list(SimilarityReport.objects.filter(phase=phase).values("pk", "computed_at"))

    assert compute_phase_similarity(phase.pk, requested_at=asked) == 0
    assert list(SimilarityReport.objects.filter(phase=phase).values("pk", "computed_at")) == (
        reports
    )
    # An organiser's full recompute is never skipped, nor an update asked for later.
    assert compute_phase_similarity(phase.pk, full=True, requested_at=asked) >= 1
    assert compute_phase_similarity(phase.pk, requested_at=timezone.now().isoformat()) >= 1
