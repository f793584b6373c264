"""Uploads → a real Celery worker scores and ranks them → an organiser asks for the challenge
report → the worker (field queue) builds it → the page serves the stored PDF; a new scored
submission makes it stale, and the next request builds the report of the new field.

Runs on whatever DATABASE_URL and CELERY_BROKER_URL say: PostgreSQL and Redis in CI, SQLite and
the file-system broker on a laptop.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.urls import reverse

from competitions import services
from competitions.models import LeaderboardSnapshot, PhaseReport, Submission
from tests.conftest import upload
from tests.e2e.conftest import wait_for, worker_wait_idle
from tests.factories import ParticipantFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _submit(phase, predictions: bytes) -> int:
    user = ParticipantFactory(team__challenge=phase.challenge).user
    return services.submission_create(phase=phase, user=user, upload=upload(predictions)).pk


def _ranked(phase, ids: list[int]) -> bool:
    snapshot = LeaderboardSnapshot.objects.filter(leaderboard__phase=phase, split="public",
                                                  leaderboard__is_primary=True).first()
    return snapshot is not None and sorted(r["submission"] for r in snapshot.rows) == ids


def _ready(phase) -> PhaseReport | None:
    report = PhaseReport.objects.filter(phase=phase).first()
    assert report is None or report.status != "failed", report.message
    return report if report is not None and report.status == "ready" else None


def test_a_real_worker_builds_the_report_and_a_new_snapshot_makes_it_stale(
    celery_worker_process, client, open_phase, good_predictions, tmp_path
):
    ids = sorted(_submit(open_phase, good_predictions) for _ in range(2))
    wait_for(lambda: _ranked(open_phase, ids), timeout=180, what="scoring and ranking")
    # Robustness, significance and similarity follow the ranking: let them land first, so the
    # report is of the field's final state.
    worker_wait_idle(celery_worker_process, timeout=300)
    boss = UserFactory()
    open_phase.challenge.organisers.add(boss)
    client.force_login(boss)
    pdf_url = reverse("competitions:phase-report",
                      args=[open_phase.challenge.slug, open_phase.slug, "pdf"])
    status_url = reverse("competitions:phase-report-status",
                         args=[open_phase.challenge.slug, open_phase.slug])
    progress = client.get(pdf_url)
    assert progress["Content-Type"].startswith("text/html")
    assert b"data-report-status" in progress.content
    first = wait_for(lambda: _ready(open_phase), timeout=180, what="the worker's report")
    assert client.get(status_url).json()["status"] == "ready"
    pdf = client.get(pdf_url)
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    if shutil.which("pdftoppm") is not None:
        (tmp_path / "report.pdf").write_bytes(pdf.content)
        subprocess.run(["pdftoppm", "-r", "20", "-png", str(tmp_path / "report.pdf"),
                        str(tmp_path / "page")], check=True)
        assert len(list(tmp_path.glob("page*.png"))) >= 1

    third = _submit(open_phase, good_predictions)
    wait_for(lambda: _ranked(open_phase, sorted([*ids, third])), timeout=180,
             what="the new submission ranked")
    worker_wait_idle(celery_worker_process, timeout=300)
    assert Submission.objects.get(pk=third).status == "scored"
    again = client.get(pdf_url)
    assert b"data-report-status" in again.content  # the stored report is stale
    second = wait_for(lambda: _ready(open_phase), timeout=180, what="the new report")
    assert second.pk != first.pk and second.snapshot_version > first.snapshot_version
    assert not PhaseReport.objects.filter(pk=first.pk).exists()
    assert client.get(pdf_url).content.startswith(b"%PDF")
