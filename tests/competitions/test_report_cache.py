"""The challenge report built by its task, stored per state of the phase and audience: the
progress page, one build per state, the files served from storage, a new snapshot making the
stored report stale, failures that say why and can be retried, the sweeper, and the attacks
(404 for every report URL before publication; the public CSV holds only released values)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from competitions.models import PhaseReport
from competitions.report.build import _first_entries
from competitions.report.tasks import build_phase_report
from competitions.worker.reports import reports_sweep
from competitions.worker.snapshots import phase_leaderboards_refresh
from tests.competitions.builders import make_board, make_scored_on_both_splits, make_teams
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(open_phase):
    user = UserFactory()
    open_phase.challenge.organisers.add(user)
    return user


@pytest.fixture
def scored_phase(open_phase):
    a, b, c = make_teams(open_phase, 3)
    make_scored_on_both_splits(open_phase, a, auroc=0.9, sensitivity=0.5,
            groups={"female": {"sensitivity": 0.55}, "male": {"sensitivity": 0.7},
                    "other": {"sensitivity": 0.987654}}, small=("other",))
    make_scored_on_both_splits(open_phase, b, auroc=0.8, sensitivity=0.712345)
    make_scored_on_both_splits(open_phase, c, auroc=0.7, sensitivity=0.6)
    # The report shows the primary board: one ranked on sensitivity, whose subgroups the
    # report's table of subgroups then shows.
    open_phase.leaderboards.update(is_primary=False)
    make_board(open_phase, "primary", [("sensitivity", True)], is_primary=True)
    phase_leaderboards_refresh(open_phase)
    return open_phase, a


def _url(phase, fmt: str) -> str:
    return reverse("competitions:phase-report", args=[phase.challenge.slug, phase.slug, fmt])


def _status_url(phase) -> str:
    return reverse("competitions:phase-report-status", args=[phase.challenge.slug, phase.slug])


def _end(phase) -> None:
    phase.end = timezone.now() - timedelta(minutes=1)
    phase.start = phase.end - timedelta(days=1)
    phase.save()


def _build_all() -> list[str]:
    """What the worker does with every report asked for: run the task (in this process)."""
    return [build_phase_report(pk) for pk in
            PhaseReport.objects.filter(status="building").values_list("pk", flat=True)]


def _tables(response) -> dict[str, list[list[str]]]:
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    return {name: list(csv.reader(io.StringIO(archive.read(name).decode())))
            for name in archive.namelist()}


def test_the_first_request_shows_the_progress_page_and_starts_one_build(
    client, scored_phase, boss, django_capture_on_commit_callbacks
):
    phase, _a = scored_phase
    client.force_login(boss)
    with django_capture_on_commit_callbacks() as sent:
        page = client.get(_url(phase, "pdf"))
        again = client.get(_url(phase, "html"))
        client.get(_url(phase, "zip"))
    assert page.status_code == again.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert b"data-report-status" in page.content and b"Being built" in page.content
    assert len(sent) == 1  # one build for the state, however many requests
    report = PhaseReport.objects.get()
    assert (report.audience, report.status, report.requested_by) == ("organisers", "building",
                                                                      boss)
    status = client.get(_status_url(phase)).json()
    assert status["status"] == "building" and status["files"] == {}


def test_the_built_report_is_served_from_storage_in_three_formats(client, scored_phase, boss):
    phase, _a = scored_phase
    client.force_login(boss)
    client.get(_url(phase, "html"))
    assert _build_all() == ["ready"]
    status = client.get(_status_url(phase)).json()
    assert status["status"] == "ready" and set(status["files"]) == {"html", "pdf", "zip"}
    page = client.get(_url(phase, "html"))
    assert page["Content-Disposition"].endswith('-report.html"')
    nonce = re.search(r"'nonce-([^']+)'", page["Content-Security-Policy"]).group(1)
    assert f'<style nonce="{nonce}">'.encode() in page.content  # the page keeps the policy
    # The organisers see the small group's value (shown to the page's 3 decimals).
    assert b'id="bias"' in page.content and b"0.988" in page.content
    assert client.get(_url(phase, "pdf")).content.startswith(b"%PDF")
    tables = _tables(client.get(_url(phase, "zip")))
    assert {"leaderboard.csv", "subgroups_sensitivity.csv"} <= set(tables)
    assert [row[0] for row in tables["leaderboard.csv"][1:]] == ["1", "2", "3"]
    # Building it again changes nothing: the task finds it ready.
    assert build_phase_report(PhaseReport.objects.get().pk) == "skipped"


def test_a_new_snapshot_makes_the_stored_report_stale(client, scored_phase, boss,
                                                      django_capture_on_commit_callbacks):
    phase, _a = scored_phase
    client.force_login(boss)
    client.get(_url(phase, "html"))
    _build_all()
    old = PhaseReport.objects.get()
    old_files = [old.html.name, old.pdf.name, old.tables.name]
    team = make_teams(phase, 1)[0]
    make_scored_on_both_splits(phase, team, auroc=0.95, sensitivity=0.9)
    phase_leaderboards_refresh(phase)
    assert client.get(_status_url(phase)).json()["status"] == "missing"
    with django_capture_on_commit_callbacks(execute=True):
        page = client.get(_url(phase, "html"))
    assert b"data-report-status" in page.content  # progress again, not the old file
    current = PhaseReport.objects.get()
    assert current.pk != old.pk and current.snapshot_version >= old.snapshot_version
    assert not any(old.html.storage.exists(name) for name in old_files)
    assert _build_all() == ["ready"]
    tables = _tables(client.get(_url(phase, "zip")))
    assert len(tables["leaderboard.csv"]) == 1 + 4


def test_publishing_scores_gives_the_public_its_own_report(client, scored_phase, boss):
    phase, a = scored_phase
    client.force_login(boss)
    client.get(_url(phase, "html"))
    _end(phase)
    client.force_login(a.user)
    client.get(_url(phase, "html"))
    assert set(PhaseReport.objects.values_list("audience", flat=True)) == {"organisers",
                                                                          "public"}


def test_a_failed_build_says_why_and_can_be_tried_again(client, scored_phase,
                                                        django_capture_on_commit_callbacks):
    phase, _a = scored_phase
    admin = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    client.get(_url(phase, "html"))
    # The only one who could see every value stops being allowed to before the worker runs,
    # and the challenge has no organiser to build it for.
    admin.is_superuser = False
    admin.save()
    assert _build_all() == ["failed"]
    admin.is_superuser = True
    admin.save()
    page = client.get(_url(phase, "html"))
    assert b"no organiser" in page.content and b"Try again" in page.content
    assert client.get(_status_url(phase)).json()["status"] == "failed"
    with django_capture_on_commit_callbacks() as sent:
        retried = client.post(_url(phase, "html"))
    assert retried.status_code == 302 and len(sent) == 1
    assert PhaseReport.objects.get().status == "building"
    assert _build_all() == ["ready"]
    assert client.get(_url(phase, "pdf")).content.startswith(b"%PDF")


def test_the_sweeper_sends_a_stuck_build_again_then_fails_it(client, scored_phase, boss):
    phase, _a = scored_phase
    client.force_login(boss)
    client.get(_url(phase, "html"))
    report = PhaseReport.objects.get()
    later = timezone.now() + settings.REPORT_STUCK_AFTER + timedelta(seconds=1)
    assert reports_sweep()["reports_requeued"] == 0  # not stuck yet
    # A worker took it and died: it stays building with its start time.
    PhaseReport.objects.filter(pk=report.pk).update(started_at=timezone.now(), attempts=1)
    assert build_phase_report(report.pk) == "skipped"  # held by that run
    assert reports_sweep(now=later)["reports_requeued"] == 1
    report.refresh_from_db()
    assert report.status == "building" and report.started_at is None
    PhaseReport.objects.filter(pk=report.pk).update(
        started_at=timezone.now(), attempts=settings.REPORT_MAX_ATTEMPTS)
    assert reports_sweep(now=later)["reports_failed"] == 1
    report.refresh_from_db()
    assert report.status == "failed" and "stopped" in report.message
    assert b"Try again" in client.get(_url(phase, "html")).content


@pytest.mark.parametrize("state", ["running", "ended, scores unpublished"])
def test_a_participant_gets_404_for_every_report_url_before_publication(client, scored_phase,
                                                                        state):
    phase, a = scored_phase
    if state != "running":
        phase.score_visibility = "on_publish"
        phase.save()
        _end(phase)
    client.force_login(a.user)
    for url in (_url(phase, "html"), _url(phase, "pdf"), _url(phase, "zip"), _status_url(phase)):
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code == 404, url
    assert not PhaseReport.objects.exists()  # nothing was even started


def test_the_public_reports_tables_hold_only_released_values(client, scored_phase, boss):
    phase, a = scored_phase
    _end(phase)
    client.force_login(a.user)
    client.get(_url(phase, "zip"))
    client.force_login(boss)
    client.get(_url(phase, "zip"))
    assert sorted(_build_all()) == ["ready", "ready"]
    organisers = _tables(client.get(_url(phase, "zip")))
    client.force_login(a.user)
    public = _tables(client.get(_url(phase, "zip")))
    assert "0.987654" in repr(organisers) and "0.712345" in repr(organisers)
    text = repr(public)
    assert "0.987654" not in text and "0.988" not in text  # the small group's value
    assert "0.712" in text and "0.712345" not in text  # rounded to the release's 3 decimals
    for rows in public.values():
        for cell in (c for row in rows[1:] for c in row):
            assert not re.fullmatch(r"-?\d+\.\d{4,}", cell), cell
    page = client.get(_url(phase, "html")).content
    assert b"0.988" not in page and b"Public report" in page


def test_a_team_name_that_is_a_formula_stays_text_in_the_tables(client, scored_phase, boss):
    phase, a = scored_phase
    a.team.name = '=HYPERLINK("http://evil.example","win")'
    a.team.save()
    client.force_login(boss)
    client.get(_url(phase, "zip"))
    _build_all()
    teams = [row[1] for row in _tables(client.get(_url(phase, "zip")))["leaderboard.csv"][1:]]
    assert "'" + a.team.name in teams


def test_the_pairwise_tables_keep_the_first_entries_and_the_csv_every_one():
    teams = [f"T{i}" for i in range(40)]
    heat = {"measure": "kappa", "rows": [
        {"team": t, "cells": [{"value": i * 100 + j} for j in range(40)]}
        for i, t in enumerate(teams)]}
    similarity = {"teams": teams, "heatmaps": [heat]}
    ranked = {"rows": [{"team": t} for t in reversed(teams)]}  # T39 is first
    shown = _first_entries(similarity, ranked)
    assert shown["teams"] == [f"T{i}" for i in range(10, 40)]
    assert [c["value"] for c in shown["heatmaps"][0]["rows"][0]["cells"]][:2] == [1010, 1011]
    assert len(similarity["heatmaps"][0]["rows"]) == 40  # the CSV's source is untouched
