"""The field's analyses of a snapshot (rank intervals, paired tests) run on the field queue, once
per snapshot: the scoring path stores the ranking without them, the field task adds them, a
newer ranking supersedes analyses under way, and the sweeper asks again for analyses whose
request was lost. On real scored submissions of the demo data (flchain)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from competitions.models import LeaderboardSnapshot
from competitions.selectors import leaderboard_table
from competitions.services import phase_default_leaderboard
from competitions.worker import analyses
from competitions.worker.analyses import (
    phase_snapshots_analyse,
    stale_analyses,
    stale_analyses_resend,
)
from competitions.worker.snapshots import phase_leaderboards_refresh
from competitions.worker.tasks import analyse_leaderboard_snapshots
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PENDING = LeaderboardSnapshot.Analysis.PENDING
DONE = LeaderboardSnapshot.Analysis.DONE


def _snapshots(phase) -> list[LeaderboardSnapshot]:
    return list(LeaderboardSnapshot.objects.filter(leaderboard__phase=phase)
                .order_by("leaderboard_id", "split"))


def test_the_scoring_path_stores_the_ranking_without_rank_intervals_or_paired_tests(field):
    phase, _scores = field
    phase_leaderboards_refresh(phase)  # what the scoring queue runs after each scoring
    snapshots = _snapshots(phase)
    assert len(snapshots) == 2  # the default board on public and private
    for snapshot in snapshots:
        assert snapshot.analysis == PENDING and snapshot.analysed_at is None
        assert snapshot.robustness is None and snapshot.robustness_note == ""
        assert "significance" not in snapshot.summary
        assert [row["rank"] for row in snapshot.rows] == sorted(r["rank"] for r in snapshot.rows)
        assert all("rank_interval" not in row and "tied_with_above" not in row
                   for row in snapshot.rows)
    table = leaderboard_table(phase_default_leaderboard(phase), split="public",
                              user=UserFactory())
    assert table["analysis_pending"] and len(table["rows"]) == 3
    assert table["significance"] is None and table["rank_resamples"] is None


def test_the_field_task_analyses_each_snapshot_once(field):
    phase, _scores = field
    phase_leaderboards_refresh(phase)
    assert analyse_leaderboard_snapshots(phase.pk) == 2
    first = _snapshots(phase)
    for snapshot in first:
        assert snapshot.analysis == DONE and snapshot.analysed_at >= snapshot.computed_at
        assert snapshot.robustness["resamples"] == 1000
        assert snapshot.summary["significance"]["family"] == "all_pairs"
        assert snapshot.summary["significance"]["family_size"] == 3  # 3 entries, every pair
        assert all(row["rank_interval"] for row in snapshot.rows)
        assert snapshot.rows[0]["tied_with_above"] is None
        assert all(row["tied_with_above"] in (True, False) for row in snapshot.rows[1:])
    # Delivered again (a duplicate, a redelivery): nothing to do, nothing rewritten.
    assert analyse_leaderboard_snapshots(phase.pk) == 0
    assert [s.analysed_at for s in _snapshots(phase)] == [s.analysed_at for s in first]
    # A new ranking starts over as pending, and is analysed in its turn.
    phase_leaderboards_refresh(phase)
    assert {s.analysis for s in _snapshots(phase)} == {PENDING}
    assert analyse_leaderboard_snapshots(phase.pk) == 2
    again = _snapshots(phase)
    assert all(s.analysis == DONE for s in again)
    assert all(a.analysed_at > b.analysed_at for a, b in zip(again, first, strict=True))
    table = leaderboard_table(phase_default_leaderboard(phase), split="public",
                              user=UserFactory())
    assert not table["analysis_pending"] and table["rank_resamples"] == 1000
    assert [row["rank_interval"] for row in table["rows"]] == [
        row["rank_interval"] for row in again[1].rows]  # public sorts after private


def test_a_ranking_stored_while_the_analyses_run_supersedes_them(field, monkeypatch):
    """The scoring queue ranks the phase again while a field worker is computing: the old
    ranking's analyses are dropped, never written over the new ranking."""
    phase, _scores = field
    phase_leaderboards_refresh(phase)
    compute = analyses.robustness_compute
    ranked_meanwhile = []

    def scoring_ranks_meanwhile(*args):
        if not ranked_meanwhile:
            ranked_meanwhile.extend(phase_leaderboards_refresh(phase))
        return compute(*args)

    monkeypatch.setattr(analyses, "robustness_compute", scoring_ranks_meanwhile)
    assert phase_snapshots_analyse(phase) == []
    assert {s.analysis for s in _snapshots(phase)} == {PENDING}
    assert {s.robustness is None for s in _snapshots(phase)} == {True}
    # The new ranking's own request then analyses it.
    assert len(phase_snapshots_analyse(phase)) == 2
    assert {s.analysis for s in _snapshots(phase)} == {DONE}


def test_snapshots_a_live_worker_has_taken_are_left_to_it(field):
    phase, _scores = field
    phase_leaderboards_refresh(phase)
    now = timezone.now()
    LeaderboardSnapshot.objects.filter(leaderboard__phase=phase).update(analysis_started_at=now)
    assert phase_snapshots_analyse(phase, now=now + timedelta(seconds=1)) == []
    # A claim older than the task's hard time limit is a dead worker's: taken over.
    later = now + timedelta(seconds=settings.SCORING_TIME_LIMIT + 1)
    assert len(phase_snapshots_analyse(phase, now=later)) == 2


def test_the_sweeper_asks_again_once_for_analyses_whose_request_was_lost(field, monkeypatch):
    phase, _scores = field
    # The refresh's request never reaches a worker (sent after commit, which a test
    # transaction never reaches): the snapshots stay pending.
    phase_leaderboards_refresh(phase)
    sent = []
    monkeypatch.setattr(analyses, "analyses_send", lambda pk: sent.append(pk) or True)
    now = timezone.now()
    assert stale_analyses_resend(now=now) == 0  # asked for just now: not lost yet
    later = now + settings.STUCK_AFTER + timedelta(seconds=1)
    assert stale_analyses(later).count() == 2
    assert stale_analyses_resend(now=later) == 1 and sent == [phase.pk]  # once per phase
    # Asked for again: the next sweep waits a full STUCK_AFTER before asking once more.
    assert stale_analyses_resend(now=later + timedelta(seconds=1)) == 0
    assert analyse_leaderboard_snapshots(phase.pk) == 2
    assert stale_analyses(later + 2 * settings.STUCK_AFTER).count() == 0


def test_an_error_mid_way_gives_the_claims_back_so_the_retry_takes_them_at_once(
    field, monkeypatch
):
    phase, _scores = field
    phase_leaderboards_refresh(phase)

    def database_gone(*args):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(analyses, "significance_compute", database_gone)
    with pytest.raises(OperationalError):
        phase_snapshots_analyse(phase)  # the task retries this error with backoff
    assert [s.analysis_started_at for s in _snapshots(phase)] == [None, None]
    monkeypatch.undo()
    assert len(phase_snapshots_analyse(phase)) == 2
