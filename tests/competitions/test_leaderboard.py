"""The leaderboard: each team's best submission, shared ranks, and a flat query count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from competitions.models import Submission
from competitions.selectors import leaderboard_rows
from tests.factories import ParticipantFactory

pytestmark = pytest.mark.django_db


def _scored(phase, participant, auroc: float | None) -> Submission:
    return Submission.objects.create(
        phase=phase,
        team=participant.team,
        created_by=participant.user,
        file="submissions/x.upload",
        original_name="x.csv",
        status=Submission.Status.SCORED,
        result={"public": {"overall": {"auroc": {"value": auroc}}, "groups": []}, "private": None},
    )


def test_each_team_counts_with_its_best_submission_ties_share_a_rank_and_null_is_last(
    open_phase,
):
    teams = [ParticipantFactory(team__challenge=open_phase.challenge) for _ in range(4)]
    for participant, values in zip(
        teams, ([0.7, 0.9], [0.9], [None], [0.8, 0.6]), strict=True
    ):
        for value in values:
            _scored(open_phase, participant, value)
    rows = leaderboard_rows(open_phase)
    assert [(row.team, row.rank, row.value) for row in rows] == [
        (teams[0].team.name, 1, 0.9),
        (teams[1].team.name, 1, 0.9),
        (teams[3].team.name, 3, 0.8),
        (teams[2].team.name, 4, None),
    ]
    assert rows[0].n_submissions == 2


def _queries_for_page(client, phase) -> int:
    url = reverse("competitions:leaderboard", args=[phase.challenge.slug, phase.slug])
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_leaderboard_page_query_count_does_not_grow_with_teams(client, open_phase):
    for n in range(3):
        _scored(open_phase, ParticipantFactory(team__challenge=open_phase.challenge), n / 10)
    few = _queries_for_page(client, open_phase)
    for n in range(30):
        _scored(open_phase, ParticipantFactory(team__challenge=open_phase.challenge), n / 100)
    assert _queries_for_page(client, open_phase) == few
