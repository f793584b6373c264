"""Leaderboards: which submission counts, every rule on hand-computed values, hidden scores,
small groups, exports with the page's numbers, and a query count that does not grow."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from competitions.boards import leaderboard_validate
from competitions.models import (
    Leaderboard,
    Participant,
    Phase,
    Submission,
    Team,
)
from competitions.selectors import leaderboard_table
from competitions.services import phase_default_leaderboard
from competitions.worker.dispatch import leaderboards_refresh_enqueue
from competitions.worker.snapshots import phase_leaderboards_refresh
from tests.competitions.builders import make_board, make_scored, make_teams, stored_result
from tests.factories import ParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db


def _ranks(board, user=None):
    phase_leaderboards_refresh(board.phase)
    table = leaderboard_table(board, split="public", user=user or UserFactory())
    return [(row["team"], row["rank"]) for row in table["rows"]], table


def test_each_team_counts_with_its_best_submission_ties_share_a_rank_and_null_is_last(
    open_phase,
):
    teams = make_teams(open_phase, 4)
    for participant, values in zip(
        teams, ([0.7, 0.9], [0.9], [None], [0.8, 0.6]), strict=True
    ):
        for value in values:
            make_scored(open_phase, participant, auroc=value)
    ranks, table = _ranks(phase_default_leaderboard(open_phase))
    names = [p.team.name for p in teams]
    assert ranks == [(names[0], 1), (names[1], 1), (names[3], 3), (names[2], 4)]
    assert [row["cells"][0]["value"] for row in table["rows"]] == [0.9, 0.9, 0.8, None]
    assert table["rows"][0]["n_submissions"] == 2


def test_the_latest_or_the_chosen_submission_counts_when_the_board_says_so(open_phase):
    (team,) = make_teams(open_phase, 1)
    best = make_scored(open_phase, team, created_offset=1, auroc=0.9)
    make_scored(open_phase, team, created_offset=2, auroc=0.6)
    board = make_board(open_phase, "primary", [("auroc", True)], counting="latest")
    _ranks_, table = _ranks(board)
    assert table["rows"][0]["cells"][0]["value"] == 0.6
    chosen = make_board(open_phase, "mean_rank", [("auroc", True)], counting="chosen")
    _ranks_, table = _ranks(chosen)
    assert table["rows"][0]["submission"] == best.pk  # no pick yet: the best counts
    picked = Submission.objects.filter(team=team.team).exclude(pk=best.pk).get()
    Submission.objects.filter(pk=picked.pk).update(selected=True)
    _ranks_, table = _ranks(chosen)
    assert table["rows"][0]["submission"] == picked.pk


def test_mean_rank_averages_the_column_ranks_with_shared_ranks(open_phase):
    a, b, c = make_teams(open_phase, 3)
    make_scored(open_phase, a, auroc=0.9, sensitivity=0.5)  # ranks 1, 3 -> mean 2
    make_scored(open_phase, b, auroc=0.8, sensitivity=0.7)  # ranks 2, 1 -> mean 1.5
    make_scored(open_phase, c, auroc=0.8, sensitivity=0.7)  # ranks 2, 1 -> mean 1.5
    board = make_board(open_phase, "mean_rank", [("auroc", True), ("sensitivity", True)])
    ranks, table = _ranks(board)
    assert ranks == [(b.team.name, 1), (c.team.name, 1), (a.team.name, 3)]
    assert [row["score"] for row in table["rows"]] == [1.5, 1.5, 2.0]


def test_worst_group_ranks_on_the_worst_group_that_is_not_small(open_phase):
    a, b, c = make_teams(open_phase, 3)
    make_scored(open_phase, a, auroc=0.9, sensitivity=0.8,
            groups={"female": {"sensitivity": 0.4}, "male": {"sensitivity": 0.9}})
    # b's tiny group is worse but small, and female is hidden with it (the smallest other
    # group, by name among equals): its worst group that counts is male at 0.6.
    make_scored(open_phase, b, auroc=0.8, sensitivity=0.7,
            groups={"female": {"sensitivity": 0.7}, "male": {"sensitivity": 0.6},
                    "unknown": {"sensitivity": 0.8}, "other": {"sensitivity": 0.0}},
            small=("other",))
    make_scored(open_phase, c, auroc=0.7, sensitivity=0.7, groups={"female": {"sensitivity": 0.7}})
    board = make_board(open_phase, "worst_group", [("sensitivity", True)], worst_group_on="sex")
    ranks, table = _ranks(board)
    assert ranks == [(b.team.name, 1), (a.team.name, 2), (c.team.name, 3)]
    assert [row["score"] for row in table["rows"]] == [0.6, 0.4, None]


def test_pareto_puts_non_dominated_entries_first_and_undefined_last(open_phase):
    a, b, c, d = make_teams(open_phase, 4)
    make_scored(open_phase, a, auroc=0.9, sensitivity=0.5)
    make_scored(open_phase, b, auroc=0.7, sensitivity=0.8)
    make_scored(open_phase, c, auroc=0.6, sensitivity=0.4)  # dominated by both
    make_scored(open_phase, d, auroc=0.95, sensitivity=None)
    board = make_board(open_phase, "pareto", [("auroc", True), ("sensitivity", True)])
    ranks, _table = _ranks(board)
    assert ranks == [(a.team.name, 1), (b.team.name, 1), (c.team.name, 3), (d.team.name, 4)]


def test_a_participant_sees_no_small_group_value_and_an_organiser_does(open_phase):
    (a,) = make_teams(open_phase, 1)
    make_scored(open_phase, a, auroc=0.9, sensitivity=0.8,
            groups={"female": {"sensitivity": 0.5}, "other": {"sensitivity": 1.0}},
            small=("other",))
    board = make_board(open_phase, "primary",
                   [("sensitivity", True), ("sensitivity@sex=other", False)])
    _ranks_, table = _ranks(board, user=a.user)
    assert table["rows"][0]["cells"][1] == {
        "value": None, "ci": None, "n": None, "small": True, "suppressed": True,
        "group": "other", "reason": "small group",
    }
    organiser = UserFactory()
    open_phase.challenge.organisers.add(organiser)
    _ranks_, table = _ranks(board, user=organiser)
    assert table["rows"][0]["cells"][1]["value"] == 1.0


def test_hidden_scores_reach_no_participant_in_the_page_or_the_exports(client, open_phase):
    (a,) = make_teams(open_phase, 1)
    make_scored(open_phase, a, auroc=0.8125)
    Phase.objects.filter(pk=open_phase.pk).update(score_visibility="on_publish")
    phase_leaderboards_refresh(open_phase)
    client.force_login(a.user)
    base = reverse("competitions:leaderboard", args=[open_phase.challenge.slug, open_phase.slug])
    csv_url = reverse("competitions:leaderboard-export",
                      args=[open_phase.challenge.slug, open_phase.slug, "csv"])
    for url in (base, csv_url, csv_url.replace(".csv", ".json")):
        body = client.get(url).content.decode()
        assert "0.812" not in body
    assert "hidden until the organisers publish" in client.get(base).content.decode()
    Phase.objects.filter(pk=open_phase.pk).update(scores_published_at=timezone.now())
    assert "0.812" in client.get(base).content.decode()


def test_the_exports_hold_the_numbers_of_the_page(client, open_phase):
    a, b = make_teams(open_phase, 2)
    make_scored(open_phase, a, auroc=0.81, sensitivity=0.5)
    make_scored(open_phase, b, auroc=0.79, sensitivity=None)
    board = make_board(open_phase, "mean_rank", [("auroc", True), ("sensitivity", True)])
    phase_leaderboards_refresh(open_phase)
    args = [open_phase.challenge.slug, open_phase.slug]
    document = json.loads(
        client.get(reverse("competitions:leaderboard-export", args=[*args, "json"]),
                   {"board": board.slug}).content
    )
    assert [(e["team"], e["rank"], e["metrics"]) for e in document["entries"]] == [
        (a.team.name, 1, {"auroc": 0.81, "sensitivity": 0.5}),
        (b.team.name, 2, {"auroc": 0.79, "sensitivity": None}),
    ]
    assert document["entries"][0]["intervals"]["auroc"] == pytest.approx([0.76, 0.86])
    rows = list(csv.DictReader(io.StringIO(
        client.get(reverse("competitions:leaderboard-export", args=[*args, "csv"]),
                   {"board": board.slug}).content.decode()
    )))
    assert [(r["team"], r["rank"], r["auroc"], r["sensitivity"]) for r in rows] == [
        (a.team.name, "1", "0.81", "0.5"), (b.team.name, "2", "0.79", ""),
    ]
    page = client.get(reverse("competitions:leaderboard", args=args), {"board": board.slug})
    assert "0.810" in page.content.decode() and "0.790" in page.content.decode()


def test_an_organiser_cannot_save_a_board_the_rule_cannot_use(open_phase):
    board = Leaderboard(phase=open_phase, slug="x", name="x", ranking="worst_group")
    with pytest.raises(ValidationError) as caught:
        leaderboard_validate(board, ["sensitivity@worst(colour)", "nonsense"], [])
    messages = " ".join(caught.value.messages)
    assert "unknown attribute 'colour'" in messages
    assert "unknown metric 'nonsense'" in messages
    assert "Mark at least one column as ranked" in messages
    assert "Name the attribute whose worst group ranks" in messages


def test_a_column_on_a_group_the_ground_truth_lacks_is_refused(open_phase):
    """Not a column of "—" for everyone: the message names the groups there are."""
    board = Leaderboard(phase=open_phase, slug="x", name="x", ranking="primary")
    with pytest.raises(ValidationError) as caught:
        leaderboard_validate(board, (c for c in ["auroc", "sensitivity@sex=west"]), ["auroc"])
    assert caught.value.messages == [
        "“sensitivity@sex=west”: the ground truth has no group “west” in sex "
        "(its groups: female, male)."
    ]
    leaderboard_validate(board, ["auroc", "sensitivity@sex=female"], ["auroc"])


def _queries_for_page(client, phase) -> int:
    url = reverse("competitions:leaderboard", args=[phase.challenge.slug, phase.slug])
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_leaderboard_page_query_count_does_not_grow_with_entries(client, open_phase):
    for n, participant in enumerate(make_teams(open_phase, 3)):
        make_scored(open_phase, participant, auroc=n / 10)
    phase_leaderboards_refresh(open_phase)
    few = _queries_for_page(client, open_phase)
    users = User.objects.bulk_create(User(username=f"bulk{n}") for n in range(997))
    teams = Team.objects.bulk_create(
        Team(challenge=open_phase.challenge, name=f"Bulk {n}") for n in range(997)
    )
    Participant.objects.bulk_create(
        Participant(challenge=open_phase.challenge, user=u, team=t,
                    accepted_rules_at=timezone.now())
        for u, t in zip(users, teams, strict=True)
    )
    Submission.objects.bulk_create(
        Submission(phase=open_phase, team=t, created_by=u, file="submissions/x.upload",
                   original_name="x.csv", status=Submission.Status.SCORED,
                   result={"public": stored_result(auroc=n / 1000), "private": None},
                   released=True)
        for n, (u, t) in enumerate(zip(users, teams, strict=True))
    )
    phase_leaderboards_refresh(open_phase)
    many = _queries_for_page(client, open_phase)
    assert many == few
    # Rendered once: the same page again reads the cache, not the table.
    assert _queries_for_page(client, open_phase) < many
    url = reverse("competitions:leaderboard", args=[open_phase.challenge.slug, open_phase.slug])
    listed = set()
    for number in range(1, 6):
        page = client.get(url, {"page": number}).content.decode()
        rows = set(re.findall(r'<tr id="entry-(\d+)"', page))
        assert len(rows) == 200
        listed |= rows
    assert listed == {str(pk) for pk in Submission.objects.values_list("pk", flat=True)}
    assert client.get(url, {"page": 6}).status_code == 404


def test_a_team_picks_its_counting_submission_while_the_phase_runs(client, open_phase):
    (team,) = make_teams(open_phase, 1)
    first = make_scored(open_phase, team, created_offset=1, auroc=0.9)
    second = make_scored(open_phase, team, created_offset=2, auroc=0.6)
    client.force_login(team.user)
    for pick in (first, second):
        url = reverse("competitions:submission-select", args=[open_phase.challenge.slug, pick.pk])
        assert client.post(url).status_code == 302
    assert list(Submission.objects.filter(selected=True)) == [second]
    rival = ParticipantFactory(team__challenge=open_phase.challenge)
    client.force_login(rival.user)
    url = reverse("competitions:submission-select", args=[open_phase.challenge.slug, first.pk])
    assert client.post(url).status_code == 404
    Phase.objects.filter(pk=open_phase.pk).update(
        start=timezone.now() - timedelta(days=3), end=timezone.now() - timedelta(days=1)
    )
    client.force_login(team.user)
    response = client.post(url, follow=True)
    assert "the counting submissions are final" in response.content.decode()
    assert list(Submission.objects.filter(selected=True)) == [second]


def test_an_anonymous_team_shows_no_name_to_others_but_to_itself_and_organisers(
    client, open_phase
):
    team, other = make_teams(open_phase, 2)
    make_scored(open_phase, team, auroc=0.9)
    client.force_login(team.user)
    url = reverse("competitions:team-anonymous", args=[open_phase.challenge.slug])
    client.post(url, {"anonymous": "on"})
    board = phase_default_leaderboard(open_phase)
    phase_leaderboards_refresh(open_phase)

    def shown(user):
        row = leaderboard_table(board, split="public", user=user)["rows"][0]
        return row["team"], row["members"]

    assert shown(other.user) == ("Anonymous team (1)", [])
    assert shown(team.user)[0] == team.team.name
    organiser = UserFactory()
    open_phase.challenge.organisers.add(organiser)
    assert shown(organiser)[0] == team.team.name
    client.post(url, {})
    assert shown(other.user)[0] == team.team.name


def test_the_private_leaderboard_and_its_downloads_wait_for_the_end(client, open_phase):
    (a,) = make_teams(open_phase, 1)
    make_scored(open_phase, a, auroc=0.9)
    client.force_login(a.user)
    args = [open_phase.challenge.slug, open_phase.slug]
    for url in (reverse("competitions:leaderboard", args=args),
                reverse("competitions:leaderboard-export", args=[*args, "csv"]),
                reverse("competitions:leaderboard-export", args=[*args, "json"]),
                reverse("competitions:results", args=args)):
        assert client.get(url, {"split": "private"}).status_code == 404
        assert client.get(url, {"split": "public"}).status_code == 200


def test_a_refresh_asked_before_the_last_ranking_does_nothing_and_a_later_one_ranks(open_phase):
    (a,) = make_teams(open_phase, 1)
    make_scored(open_phase, a, auroc=0.7)
    phase_default_leaderboard(open_phase)
    leaderboards_refresh_enqueue(open_phase)  # a request, counted on the phase (version 1)
    assert len(phase_leaderboards_refresh(open_phase, version=1)) == 2  # public, private
    # A queued duplicate of the same request finds the work done.
    assert phase_leaderboards_refresh(open_phase, version=1) == []
    Phase.objects.get(pk=open_phase.pk).save()  # a stale save must not lower the count
    (b,) = make_teams(open_phase, 1)
    make_scored(open_phase, b, auroc=0.9)
    leaderboards_refresh_enqueue(open_phase)
    open_phase.refresh_from_db()
    assert open_phase.leaderboard_version == 2
    assert len(phase_leaderboards_refresh(open_phase, version=2)) == 2
    table = leaderboard_table(phase_default_leaderboard(open_phase), split="public",
                              user=a.user)
    assert [row["team"] for row in table["rows"]] == [b.team.name, a.team.name]
