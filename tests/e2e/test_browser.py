"""A participant in headless Chromium: log in, join, upload, see the score on the leaderboard.

Uses Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium) through Playwright, with no
network access beyond this machine; a missing browser fails the test with a clear message.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from competitions import services
from competitions.models import Submission
from tests.conftest import upload
from tests.factories import ParticipantFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

def test_a_participant_joins_uploads_and_sees_their_score(
    celery_worker_process, live_server, browser_page, open_phase, good_predictions, settings
):
    settings.LEADERBOARD_POLL_SECONDS = 1
    page = browser_page
    challenge = open_phase.challenge
    UserFactory(username="maria", display_name="Maria", password="a-long-secret-42")

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill("a-long-secret-42")
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/c/{challenge.slug}/")
    page.get_by_label("I have read and accept the rules").check()
    page.get_by_role("button", name="Join the challenge").click()
    expect(page.get_by_text(f"You joined {challenge.title}")).to_be_visible()

    page.get_by_role("link", name="Submit").first.click()
    # Where she stands before she uploads: the quota left today and in the phase.
    expect(page.get_by_text("can submit 3 more today (UTC) and 10 more in this phase")
           ).to_be_visible()
    page.get_by_label("Predictions CSV").set_input_files(
        files=[{"name": "maria.csv", "mimeType": "text/csv", "buffer": good_predictions}]
    )
    page.get_by_label("Method summary").fill("Age and light chains")
    page.get_by_label("Training compute").fill("2")
    page.get_by_label("Inference compute").fill("0.1")
    page.get_by_label("Hardware type").select_option("nvidia-t4")
    page.get_by_role("button", name="Upload").click()

    page.wait_for_url(re.compile(r"/submissions/$"))
    expect(page.locator("[data-status]").first).to_have_text("Scored", timeout=60_000)
    submission = Submission.objects.get(created_by__username="maria")
    assert submission.fact_sheet.compute_hours == 2.1
    auroc = submission.result["public"]["overall"]["auroc"]["value"]
    # The list numbers it as the team's first and shows its released score.
    mine = page.locator(f'tr[data-submission="{submission.pk}"]')
    expect(mine.locator("th")).to_have_text("1")
    expect(mine).to_contain_text(f"auroc {auroc:.3f}")
    page.goto(f"{live_server.url}/c/{challenge.slug}/phases/{open_phase.slug}/submit/")
    expect(page.get_by_text("can submit 2 more today (UTC) and 9 more in this phase")
           ).to_be_visible()
    page.go_back()

    page.get_by_role("link", name=f"Leaderboard: {open_phase.name}").click()
    row = page.locator("table.leaderboard tbody tr").filter(has_text="Maria")
    expect(row).to_contain_text(f"{auroc:.3f}")
    expect(row.locator("td").first).to_have_text("1")

    # A rival's submission is scored by the worker: the open page shows it without a reload.
    rival = ParticipantFactory(team__challenge=challenge, team__name="Rivals")
    services.submission_create(phase=open_phase, user=rival.user, upload=upload(good_predictions))
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("table.leaderboard tbody tr").filter(has_text="Rivals")).to_be_visible(
        timeout=60_000
    )
    assert page.evaluate("window.__notReloaded") is True
