"""Leaderboard pages rendered once per snapshot and cached (competitions/board_cache.py,
selectors/board_pages.py): what must make a new page (a new snapshot, publishing the scores,
the phase's end, course mode, a team turning anonymous), pagination that loses no row, and the
attacks a shared cache invites — an organiser's or another team's page served to someone else.

Each test runs against the local-memory cache and, marked e2e, against the real Redis of
``REDIS_URL`` (django-redis, exactly as cheetah/settings.py configures it): it fails, never
skips, when that Redis is missing.
"""

from __future__ import annotations

import csv
import io
import os
import re
import runpy
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from competitions import services
from competitions.board_cache import board_cache_version
from competitions.models import Challenge, FactSheet, Phase
from competitions.selectors.leaderboards import leaderboard_table
from competitions.worker.snapshots import phase_leaderboards_refresh
from competitions.worker.tasks import analyse_leaderboard_snapshots
from tests.competitions.builders import make_board, make_scored, make_teams
from tests.conftest import rank_and_analyse
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SETTINGS_FILE = Path(__file__).resolve().parents[2] / "cheetah" / "settings.py"
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                      "LOCATION": "board-pages-tests"}}


def _redis_caches() -> dict:
    url = os.environ.get("REDIS_URL")
    assert url, "the e2e run needs REDIS_URL (the Redis the cache uses)"
    caches = runpy.run_path(str(SETTINGS_FILE))["CACHES"]
    assert caches["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    # Errors ignored in production; here a Redis that does not answer must fail the test.
    caches["default"]["OPTIONS"] = {**caches["default"]["OPTIONS"], "IGNORE_EXCEPTIONS": False}
    return caches


@pytest.fixture(params=["locmem", pytest.param("redis", marks=pytest.mark.e2e)])
def backend(request):
    caches = LOCMEM if request.param == "locmem" else _redis_caches()
    with override_settings(CACHES=caches):
        cache.clear()
        yield request.param
        cache.clear()


def _url(phase) -> str:
    return reverse("competitions:leaderboard", args=[phase.challenge.slug, phase.slug])


def _page(client, phase, **query) -> str:
    response = client.get(_url(phase), query)
    assert response.status_code == 200
    return response.content.decode()


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr id="entry-(\d+)"', page)


def test_the_page_is_read_from_the_cache_the_second_time(backend, client, open_phase):
    (a,) = make_teams(open_phase, 1)
    make_scored(open_phase, a, auroc=0.8125)
    rank_and_analyse(open_phase)
    first = _page(client, open_phase)
    assert "0.812" in first
    assert any(key.startswith("board-page:") for key in _cached_keys(backend))
    assert _page(client, open_phase) == first


def _cached_keys(backend) -> list[str]:
    if backend == "redis":
        return [key.split(":", 2)[-1] for key in
                (k.decode() for k in cache.client.get_client().keys("*"))]
    return [key.split(":", 2)[-1] for key in cache._cache]


def test_a_new_snapshot_changes_the_page(backend, client, open_phase):
    a, b = make_teams(open_phase, 2)
    make_scored(open_phase, a, auroc=0.8125)
    rank_and_analyse(open_phase)
    assert b.team.name not in _page(client, open_phase)
    make_scored(open_phase, b, auroc=0.9375)
    rank_and_analyse(open_phase)
    page = _page(client, open_phase)
    assert b.team.name in page and "0.938" in page
    assert page.index(b.team.name) < page.index(a.team.name)


PENDING_NOTE = "Rank intervals and tie marks are being computed"
INTERVAL_TITLE = "95% interval of the rank over bootstrap resamples of the cases"
RANK_LEGEND = "under a rank: its 95% interval"


def test_the_page_says_being_computed_until_the_analyses_land_then_shows_them(
    backend, client, field
):
    """The analyses change the snapshot's row in place (same id, same ranking time): the key
    holds their state, so the page drawn while they were pending is not served after."""
    phase, _scores = field
    phase_leaderboards_refresh(phase)  # the scoring queue's new ranking; the field's is to come
    pending = _page(client, phase)
    assert PENDING_NOTE in pending
    assert INTERVAL_TITLE not in pending and RANK_LEGEND not in pending
    assert _page(client, phase) == pending  # from the cache
    assert analyse_leaderboard_snapshots(phase.pk) == 2
    done = _page(client, phase)
    assert PENDING_NOTE not in done
    assert done.count(INTERVAL_TITLE) == 3 and RANK_LEGEND in done  # one interval per team
    assert "statistically tied: not significantly different on auroc" in done
    results = client.get(reverse("competitions:results", args=[phase.challenge.slug,
                                                               phase.slug])).content.decode()
    assert 'class="chart blob-plot"' in results and "being computed" not in results


def test_hidden_scores_hide_the_analyses_as_they_hide_the_ranking(backend, client, field):
    phase, _scores = field
    Phase.objects.filter(pk=phase.pk).update(score_visibility="on_publish")
    phase_leaderboards_refresh(phase)
    assert PENDING_NOTE not in _page(client, phase)  # nothing is shown, not even the wait
    analyse_leaderboard_snapshots(phase.pk)
    page = _page(client, phase)
    assert INTERVAL_TITLE not in page and RANK_LEGEND not in page and "≈" not in page
    organiser = UserFactory()
    phase.challenge.organisers.add(organiser)
    client.force_login(organiser)
    assert _page(client, phase).count(INTERVAL_TITLE) == 3


def test_publishing_the_scores_changes_the_page(backend, client, open_phase):
    (a,) = make_teams(open_phase, 1)
    make_scored(open_phase, a, auroc=0.8125)
    Phase.objects.filter(pk=open_phase.pk).update(score_visibility="on_publish")
    rank_and_analyse(open_phase)
    assert "0.812" not in _page(client, open_phase)
    services.phase_scores_publish(phases=Phase.objects.filter(pk=open_phase.pk))
    assert "0.812" in _page(client, open_phase)


def test_the_end_of_the_phase_changes_the_page(backend, client, open_phase):
    """Nothing is written at the end: the key holds whether the phase has ended."""
    (a,) = make_teams(open_phase, 1)
    make_scored(open_phase, a, auroc=0.8125)
    Phase.objects.filter(pk=open_phase.pk).update(score_visibility="after_end")
    rank_and_analyse(open_phase)
    assert "0.812" not in _page(client, open_phase)
    Phase.objects.filter(pk=open_phase.pk).update(end=timezone.now() - timedelta(seconds=1))
    assert "0.812" in _page(client, open_phase, split="public")


def test_course_mode_changes_the_page(backend, client, open_phase):
    (a,) = make_teams(open_phase, 1)
    make_scored(open_phase, a, auroc=0.8125)
    rank_and_analyse(open_phase)
    assert a.team.name in _page(client, open_phase)
    Challenge.objects.filter(pk=open_phase.challenge_id).update(course_mode=True)
    page = _page(client, open_phase)
    assert a.team.name not in page and "Anonymous team (1)" in page


def test_a_team_turning_anonymous_leaves_no_cached_page_with_its_name(
    backend, client, open_phase, django_capture_on_commit_callbacks
):
    (a,) = make_teams(open_phase, 1)
    make_scored(open_phase, a, auroc=0.8125)
    rank_and_analyse(open_phase)
    assert a.team.name in _page(client, open_phase)
    with django_capture_on_commit_callbacks(execute=True):
        services.team_set_anonymous(team=a.team, anonymous=True)
    assert a.team.name not in _page(client, open_phase)


def test_any_setting_of_the_phase_or_challenge_changes_the_version(open_phase):
    """New settings (a reference entry, floors) are covered without a change to the key."""
    def fresh() -> Phase:
        return Phase.objects.select_related("challenge").get(pk=open_phase.pk)

    before = board_cache_version(fresh())
    phase = fresh()
    phase.release_decimals = 2
    assert board_cache_version(phase) != before
    phase = fresh()
    phase.challenge.course_mode = True
    assert board_cache_version(phase) != before
    assert board_cache_version(fresh()) == before
    open_phase = fresh()
    open_phase.end = timezone.now() - timedelta(seconds=1)
    assert board_cache_version(open_phase) != before


@override_settings(LEADERBOARD_PAGE_ROWS=2)
def test_every_row_is_on_one_page_and_the_downloads_keep_them_all(backend, client, open_phase):
    teams = make_teams(open_phase, 5)
    submissions = [make_scored(open_phase, t, auroc=0.5 + n / 10) for n, t in enumerate(teams)]
    rank_and_analyse(open_phase)
    first = _page(client, open_phase)
    # Plain links: no script needed to reach the other pages.
    assert re.findall(r'href="\?board=[^"]*page=(\d)"', first)[:2] == ["2", "3"]
    pages = [_rows(first), *(_rows(_page(client, open_phase, page=n)) for n in (2, 3))]
    assert [len(rows) for rows in pages] == [2, 2, 1]
    assert [int(pk) for rows in pages for pk in rows] == [s.pk for s in reversed(submissions)]
    assert "Entries 3–4 of 5" in _page(client, open_phase, page=2)
    for bad in ("4", "0", "x"):
        assert client.get(_url(open_phase), {"page": bad}).status_code == 404
    args = [open_phase.challenge.slug, open_phase.slug]
    exported = client.get(reverse("competitions:leaderboard-export", args=[*args, "csv"]))
    assert len(list(csv.DictReader(io.StringIO(exported.content.decode())))) == 5
    document = client.get(reverse("competitions:leaderboard-export", args=[*args, "json"]))
    assert len(document.json()["entries"]) == 5


@override_settings(LEADERBOARD_PAGE_ROWS=2)
def test_a_page_releases_only_its_rows_and_they_are_the_whole_tables_rows(open_phase):
    """A page releases only its own rows (10,000 teams: seconds saved per page); what it shows
    must still be the whole table's rows at those places: the same cells, members, counts and
    cost, anonymous teams numbered across the whole table, the cost column and the notes on
    every page alike, the "your team" line pointing at the right page."""
    teams = make_teams(open_phase, 5)
    entries = [make_scored(open_phase, t, auroc=0.9 - n / 10, sensitivity=0.5 + n / 20,
                           groups={"female": {"sensitivity": 0.4}, "male": {"sensitivity": 0.6}})
               for n, t in enumerate(teams)]
    make_scored(open_phase, teams[4], created_offset=5, auroc=0.3)  # a second, lower one
    for anonymous in (teams[1], teams[4]):
        services.team_set_anonymous(team=anonymous.team, anonymous=True)
    FactSheet.objects.create(submission=entries[4], training_hours=1.75, inference_hours=0.125,
                             hardware="nvidia-a100-pcie", devices=3)
    rank_and_analyse(open_phase)
    board = open_phase.leaderboards.get(is_primary=True)
    organiser = UserFactory()
    open_phase.challenge.organisers.add(organiser)
    for user in (teams[4].user, teams[0].user, organiser, AnonymousUser()):
        whole = leaderboard_table(board, split="public", user=user, attribute="sex")
        assert len(whole["rows"]) == 5
        for start in (0, 2, 4):
            part = leaderboard_table(board, split="public", user=user, attribute="sex",
                                     shown=slice(start, start + 2))
            assert part["rows"] == whole["rows"][start:start + 2]
            assert part["n_rows"] == 5 and part["has_costs"] and whole["has_costs"]
            assert {k: v for k, v in part.items() if k not in ("rows", "n_rows", "team_rows")} \
                == {k: v for k, v in whole.items() if k != "rows"}
    # The anonymous team on the last page is numbered as in the whole table, not as the
    # first anonymous team of its page.
    client = Client()
    client.force_login(teams[0].user)
    last = _page(client, open_phase, page=3)
    assert "Anonymous team (2)" in last and teams[4].team.name not in last
    client.force_login(teams[4].user)
    first = _page(client, open_phase)
    assert teams[4].team.name not in first and "Your team:" in first
    assert re.search(rf'page=3#entry-{entries[4].pk}"', first)


def test_an_organisers_page_never_reaches_a_participant_or_a_visitor(
    backend, client, open_phase
):
    """The organiser renders first, with hidden scores and a small group's value on the page;
    the participant and the visitor after them get pages of their own, without either."""
    (a,) = make_teams(open_phase, 1)
    make_scored(open_phase, a, auroc=0.8125, sensitivity=0.6875,
                groups={"female": {"sensitivity": 0.5}, "other": {"sensitivity": 0.9375}},
                small=("other",))
    make_board(open_phase, "primary", [("auroc", True), ("sensitivity@sex=other", False)],
               is_primary=False)
    Phase.objects.filter(pk=open_phase.pk).update(score_visibility="on_publish")
    rank_and_analyse(open_phase)
    organiser = UserFactory()
    open_phase.challenge.organisers.add(organiser)
    client.force_login(organiser)
    assert "0.812" in _page(client, open_phase)
    assert "0.9375" in _page(client, open_phase, board="primary")
    for viewer in (a.user, None):
        client.logout()
        if viewer:
            client.force_login(viewer)
        for board in ("", "primary"):
            page = _page(client, open_phase, board=board) if board else _page(client, open_phase)
            assert "0.812" not in page and "0.937" not in page and "0.938" not in page
    services.phase_scores_publish(phases=Phase.objects.filter(pk=open_phase.pk))
    page = _page(client, open_phase, board="primary")
    assert "0.812" in page and "0.937" not in page and "small group" in page


def test_one_teams_page_never_reaches_another_team(backend, client, open_phase):
    """A, whose team is anonymous, sees its name and its row highlighted; B after A sees
    neither, and A's highlight is drawn outside the cached table."""
    a, b = make_teams(open_phase, 2)
    entry_a = make_scored(open_phase, a, auroc=0.9)
    entry_b = make_scored(open_phase, b, auroc=0.8)
    services.team_set_anonymous(team=a.team, anonymous=True)
    rank_and_analyse(open_phase)
    client.force_login(a.user)
    page_a = _page(client, open_phase)
    assert a.team.name in page_a
    assert f"#entry-{entry_a.pk} > *" in page_a and "Your team:" in page_a
    client.force_login(b.user)
    page_b = _page(client, open_phase)
    assert a.team.name not in page_b and "Anonymous team (1)" in page_b
    assert f"#entry-{entry_a.pk} >" not in page_b and f"#entry-{entry_b.pk} > *" in page_b
    client.logout()
    page = _page(client, open_phase)
    assert a.team.name not in page and "Your team:" not in page and "#entry-" not in page


def test_the_live_refresh_fragment_is_the_cached_table_of_the_same_page(
    backend, client, open_phase
):
    (a,) = make_teams(open_phase, 1)
    make_scored(open_phase, a, auroc=0.8125)
    rank_and_analyse(open_phase)
    page = _page(client, open_phase)
    fragment = _page(client, open_phase, fragment=1)
    assert fragment.strip().startswith('<div class="table-frame"')
    assert fragment.strip() in page


def _results(client, phase, **query) -> str:
    url = reverse("competitions:results", args=[phase.challenge.slug, phase.slug])
    response = client.get(url, query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_results_page_is_drawn_once_per_snapshot_and_metric(backend, client, open_phase):
    a, b = make_teams(open_phase, 2)
    make_scored(open_phase, a, auroc=0.8125, sensitivity=0.6875,
                groups={"female": {"sensitivity": 0.5, "auroc": 0.75}})
    rank_and_analyse(open_phase)
    first = _results(client, open_phase)
    assert a.team.name in first
    keys = [key for key in _cached_keys(backend) if ":results:" in key]
    assert len(keys) == 1
    assert _results(client, open_phase) == first
    # A metric name that cannot be one shares the default's entry; a real one has its own.
    assert _results(client, open_phase, metric="<script>" * 20) == first
    assert len([key for key in _cached_keys(backend) if ":results:" in key]) == 1
    _results(client, open_phase, metric="sensitivity")
    assert len([key for key in _cached_keys(backend) if ":results:" in key]) == 2
    make_scored(open_phase, b, auroc=0.9375)
    rank_and_analyse(open_phase)
    assert b.team.name in _results(client, open_phase)


def test_an_organisers_results_page_never_reaches_a_participant_nor_another_team(
    backend, client, open_phase
):
    a, b = make_teams(open_phase, 2)
    make_scored(open_phase, a, auroc=0.9)
    make_scored(open_phase, b, auroc=0.8)
    services.team_set_anonymous(team=a.team, anonymous=True)
    rank_and_analyse(open_phase)
    organiser = UserFactory()
    open_phase.challenge.organisers.add(organiser)
    client.force_login(organiser)
    assert "Label-bias stress test (organisers)" in _results(client, open_phase)
    client.force_login(a.user)
    page_a = _results(client, open_phase)
    assert a.team.name in page_a and "Label-bias stress test" not in page_a
    for viewer in (b.user, None):
        client.logout()
        if viewer:
            client.force_login(viewer)
        page = _results(client, open_phase)
        assert "Label-bias stress test" not in page
        assert a.team.name not in page and "Anonymous team (1)" in page
