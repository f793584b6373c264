"""The challenge report's progress page in Chromium, with a real worker: the page (the app's own
JavaScript, under the Content-Security-Policy) polls the status while the worker builds the
report, then lists its files and downloads the one asked for."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import COLLECT_VIOLATIONS
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_progress_page_follows_the_worker_and_downloads_the_report(
    celery_worker_process, live_server, browser_page, open_phase
):
    page = browser_page
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(COLLECT_VIOLATIONS)
    UserFactory(username="boss", password="a-long-secret-42", is_staff=True, is_superuser=True)
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("a-long-secret-42")
    page.get_by_role("button", name="Log in").click()
    url = (f"{live_server.url}/c/{open_phase.challenge.slug}/phases/{open_phase.slug}"
           "/report.pdf")
    page.goto(url)
    expect(page.locator("[data-report-state]")).to_have_text("Being built")
    with page.expect_download(timeout=180_000) as download:
        expect(page.locator("[data-report-files] a")).to_have_count(3, timeout=180_000)
    assert download.value.suggested_filename.endswith("-report.pdf")
    expect(page.locator("[data-report-state]")).to_have_text("Ready")
    assert page.evaluate("window.__violations") == []
    assert [m for m in console if "Content Security" in m] == []
