"""A reader in headless Chromium follows a metric's name from the leaderboard to what it means."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from competitions import services
from tests.conftest import score_now, upload
from tests.factories import ParticipantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_metric_name_on_the_leaderboard_opens_its_glossary_entry(
    live_server, browser_page, open_phase, good_predictions
):
    page = browser_page
    participant = ParticipantFactory(team__challenge=open_phase.challenge, team__name="Readers")
    score_now(services.submission_create(phase=open_phase, user=participant.user,
                                         upload=upload(good_predictions)))
    page.goto(f"{live_server.url}/c/{open_phase.challenge.slug}/phases/{open_phase.slug}"
              "/leaderboard/")
    expect(page.get_by_text("Decisions at score ≥ 0.5")).to_be_visible()

    page.locator("table.leaderboard thead").get_by_role(
        "link", name="sensitivity", exact=True).click()

    page.wait_for_url(re.compile(r"/metrics/#metric-binary-sensitivity$"))
    entry = page.locator("#metric-binary-sensitivity")
    expect(entry).to_be_in_viewport()
    expect(entry).to_contain_text("tp / (tp + fn)")
    expect(entry).to_contain_text("higher is better")
    expect(entry).to_contain_text("no positive cases")
