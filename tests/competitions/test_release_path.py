"""Every number a participant or the public sees goes through ``competitions.release``.

The attack on the rule itself: withhold everything in the release step and read every page,
fragment, API answer and download a participant can reach. A metric value that still shows was
produced by a path that skips the release step — a rule added there would not hold for it.
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from competitions import release
from competitions.models import (
    FactSheet,
    LeaderboardSnapshot,
    Phase,
    SimilarityReport,
    Submission,
)
from competitions.similarity_arrays import similarity_arrays_read
from competitions.worker.similarity import phase_similarity_compute

pytestmark = pytest.mark.django_db

_EVERYDAY = {"0.000", "1.000", "0.500", "0.250", "0.750"}


def _numbers(value) -> set[float]:
    if isinstance(value, bool) or value is None:
        return set()
    if isinstance(value, float):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_numbers(v) for v in value.values()))
    if isinstance(value, list | tuple):
        return set().union(*(_numbers(v) for v in value))
    return set()


def _secrets(phase: Phase) -> set[str]:
    """The metric values, intervals, similarities and differences between entries of the field
    as pages print them."""
    values: set[float] = set()
    for result in Submission.objects.filter(phase=phase).values_list("result", flat=True):
        values |= _numbers(result)
    for summary in LeaderboardSnapshot.objects.filter(leaderboard__phase=phase).values_list(
        "summary", flat=True
    ):
        values |= _numbers((summary.get("significance") or {}).get("pairs"))
    for report in SimilarityReport.objects.filter(phase=phase):
        arrays = similarity_arrays_read(report)  # None: an older report, no page shows it
        values |= _numbers(arrays.to_json()["measures"] if arrays else None)
        values |= _numbers(report.ensembles)
    shown = {f"{v:.3f}" for v in values if 0 < abs(v) < 10} - _EVERYDAY
    return {text for text in shown if not re.fullmatch(r"-?0\.0\d0|-?0\.\d00", text)}


@pytest.fixture
def ended_field(field):
    """The test field after its phase ended (private split, label measures and ensembles are
    then shown to participants), with a declared compute and a computed similarity."""
    phase, _scores = field
    FactSheet.objects.create(submission=Submission.objects.filter(phase=phase).first(),
                             training_hours=1.75, inference_hours=0.125,
                             hardware="nvidia-a100-pcie", devices=3)
    phase_similarity_compute(phase=phase)
    Phase.objects.filter(pk=phase.pk).update(
        start=timezone.now() - timedelta(days=3), end=timezone.now() - timedelta(days=1)
    )
    phase.refresh_from_db()
    return phase


def _shows(text: str, number: str) -> bool:
    """Whether ``number`` (3 decimals) starts a number in ``text`` — as a page prints it, or the
    first digits of a download's full precision — and not inside a time (``23:00:10.613``)."""
    return re.search(rf"(?<![\d.:]){re.escape(number)}", text) is not None


def _everything_a_participant_reads(client, phase: Phase) -> dict[str, str]:
    participant = phase.challenge.participants.select_related("user", "team").first()
    mine = Submission.objects.filter(team=participant.team).first()
    slug, phase_slug = phase.challenge.slug, phase.slug
    board = phase.leaderboards.get(is_primary=True).slug
    client.force_login(participant.user)
    api = APIClient()
    api.force_authenticate(participant.user)
    pages = {}
    for split in ("public", "private"):
        query = f"?split={split}"
        for name in ("leaderboard", "results", "similarity", "compute"):
            url = reverse(f"competitions:{name}", args=[slug, phase_slug]) + query
            pages[f"{name} {split}"] = client.get(url).content.decode()
        leaderboard = reverse("competitions:leaderboard", args=[slug, phase_slug]) + query
        pages[f"groups {split}"] = client.get(leaderboard + "&attribute=sex").content.decode()
        pages[f"fragment {split}"] = client.get(leaderboard + "&fragment=1").content.decode()
        entry = reverse("competitions:entry", args=[slug, phase_slug, mine.pk]) + query
        pages[f"entry {split}"] = client.get(entry).content.decode()
        for fmt in ("csv", "json"):
            url = reverse("competitions:leaderboard-export", args=[slug, phase_slug, fmt])
            pages[f"{fmt} {split}"] = client.get(url + query).content.decode()
        url = reverse("api:leaderboard", args=[slug, phase_slug, board]) + query
        pages[f"api leaderboard {split}"] = api.get(url).content.decode()
    pages["submission"] = client.get(
        reverse("competitions:submission", args=[slug, mine.pk])).content.decode()
    pages["api submissions"] = api.get(reverse("api:submissions")).content.decode()
    pages["api submission"] = api.get(reverse("api:submission", args=[mine.pk])).content.decode()
    return pages


def _withhold_everywhere(monkeypatch) -> None:
    """Replace the release step, wherever a module holds it, by one that withholds all."""
    original = release.release_cell

    def withhold(cell, *, viewer, **_context):
        return release._withheld(cell, "withheld by the test")

    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if name.split(".")[0] in ("competitions", "surveys") and \
                getattr(module, "release_cell", None) is original:
            monkeypatch.setattr(module, "release_cell", withhold)


def test_the_pages_show_the_fields_numbers_when_the_release_step_allows_them(client,
                                                                            ended_field):
    secrets = _secrets(ended_field)
    pages = _everything_a_participant_reads(client, ended_field)
    silent = [name for name, text in pages.items()
              if not any(_shows(text, s) for s in secrets)]
    # Every reader shows some of the numbers: the test below would notice if one leaked them.
    assert silent == []


def test_no_page_api_answer_or_download_shows_a_number_the_release_step_withheld(
    client, ended_field, monkeypatch
):
    secrets = _secrets(ended_field)
    _withhold_everywhere(monkeypatch)
    pages = _everything_a_participant_reads(client, ended_field)
    leaks = {name: sorted(s for s in secrets if _shows(text, s))[:5]
             for name, text in pages.items()}
    assert {name: found for name, found in leaks.items() if found} == {}
