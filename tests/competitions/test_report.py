"""The challenge report: one self-contained HTML page with every figure's table and the BIAS
checklist, its PDF, and only released values in the public version."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from competitions.report.bias import BIAS_ITEMS
from competitions.report.build import report_html, report_pdf
from tests.competitions.builders import make_board, make_scored_on_both_splits, make_teams
from tests.conftest import rank_and_analyse
from tests.e2e.hosts import required
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
    make_scored_on_both_splits(open_phase, b, auroc=0.8, sensitivity=0.7)
    make_scored_on_both_splits(open_phase, c, auroc=0.7, sensitivity=0.6)
    open_phase.leaderboards.update(is_primary=False)
    make_board(open_phase, "primary", [("sensitivity", True)], is_primary=True)
    rank_and_analyse(open_phase)
    return open_phase, a


@pytest.fixture
def demo_field(field):
    """Three real scored submissions on the demo data, with snapshots."""
    phase, _scores = field
    rank_and_analyse(phase)
    return phase


def test_the_organisers_report_holds_the_tables_and_every_bias_item(demo_field, boss):
    phase = demo_field
    html = report_html(phase, boss)
    for section in ("data", "leaderboard", "robustness", "label-bias", "bias"):
        assert f'id="{section}"' in html
    assert html.count('class="bias-item"') == len(BIAS_ITEMS)
    assert phase.challenge.title in html
    assert "To be completed by the organisers." in html
    # Self-contained: no asset from the network.
    assert not re.search(r"""(src|href)=["']?https?://""", html)
    assert "<link" not in html and "<script" not in html


def test_the_public_report_withholds_a_small_groups_value(scored_phase):
    phase, a = scored_phase
    phase.end = timezone.now() - timedelta(minutes=1)
    phase.start = phase.end - timedelta(days=1)
    phase.save()
    public = report_html(phase, a.user)
    assert 'id="leaderboard"' in public
    # The visible groups' values are there (so the table is not simply empty) ...
    assert "0.55" in public and "0.7" in public
    # ... and the small group's is not, in any rounding.
    assert "0.988" not in public and "0.987654" not in public and "0.99" not in public


def test_the_report_renders_to_a_pdf_whose_pages_are_not_blank(demo_field, boss, tmp_path):
    phase = demo_field
    pdf = report_pdf(report_html(phase, boss))
    assert pdf.startswith(b"%PDF")
    required(shutil.which("pdftoppm") is not None, "pdftoppm (poppler-utils) is not installed")
    (tmp_path / "report.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(tmp_path / "report.pdf"),
                    str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages and all(page.stat().st_size > 500 for page in pages)


def test_a_participant_gets_404_for_the_report_before_scores_are_published(client, scored_phase):
    phase, a = scored_phase
    client.force_login(a.user)
    url = reverse("competitions:phase-report", args=[phase.challenge.slug, phase.slug, "html"])
    assert client.get(url).status_code == 404
    phase.end = timezone.now() - timedelta(minutes=1)
    phase.start = phase.end - timedelta(days=1)
    phase.save()
    page = client.get(url)
    assert page.status_code == 200
    assert b"0.987654" not in page.content and b"0.988" not in page.content
