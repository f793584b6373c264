"""An organiser imports the demo's bundle in the admin (preview, confirm), publishes it, and a
participant submits to the new challenge and is scored by the real worker."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from competitions import services
from competitions.demo_data import load_demo_data
from competitions.management.commands.seed_demo import Command as SeedDemo
from competitions.models import Challenge, Submission
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("a-long-secret-42")
    page.get_by_role("button", name="Log in").click()


def test_an_imported_demo_bundle_takes_and_scores_a_submission(
    celery_worker_process, live_server, browser_page, good_predictions, tmp_path
):
    demo, _phase = SeedDemo()._challenge(UserFactory(username="organiser"), load_demo_data())
    bundle = tmp_path / "flchain.cheetah-bundle.zip"
    bundle.write_bytes(services.bundle_export(demo))
    UserFactory(username="teacher", is_staff=True, is_superuser=True,
                password="a-long-secret-42")
    UserFactory(username="student", display_name="Student", password="a-long-secret-42")
    page = browser_page

    _log_in(page, live_server.url, "teacher")
    page.goto(f"{live_server.url}/admin/competitions/challenge/")
    page.get_by_role("link", name="Import a bundle").click()
    page.get_by_label("Bundle (ZIP)").set_input_files(str(bundle))
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("What the import will create")).to_be_visible()
    expect(page.get_by_text("Worst sex group: sensitivity")).to_be_visible()
    page.get_by_role("button", name="Create the challenge").click()
    expect(page.get_by_text("as a draft (flchain-mortality-2)")).to_be_visible()
    page.get_by_label("Status").select_option("published")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("was changed successfully")).to_be_visible()
    copy = Challenge.objects.get(slug="flchain-mortality-2")
    assert copy.status == Challenge.Status.PUBLISHED
    page.context.clear_cookies()

    _log_in(page, live_server.url, "student")
    page.goto(f"{live_server.url}/c/{copy.slug}/")
    page.get_by_label("I have read and accept the rules").check()
    page.get_by_role("button", name="Join the challenge").click()
    page.get_by_role("link", name="Submit").first.click()
    page.get_by_label("Predictions CSV").set_input_files(
        files=[{"name": "student.csv", "mimeType": "text/csv", "buffer": good_predictions}]
    )
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/submissions/$"))
    expect(page.locator("[data-status]").first).to_have_text("Scored", timeout=60_000)
    submission = Submission.objects.get(created_by__username="student")
    assert submission.phase.challenge == copy
    assert submission.result["public"]["overall"]["auroc"]["value"] > 0.5
