"""The Content-Security-Policy as Chromium enforces it: the pages that run JavaScript (the API
docs' Swagger UI, the admin, the leaderboard) work and the browser reports no violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import COLLECT_VIOLATIONS
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _violations(page, console: list[str]) -> list[str]:
    return page.evaluate("window.__violations") + [m for m in console if "Content Security" in m]


@pytest.fixture
def watched_page(browser_page):
    console: list[str] = []
    browser_page.on("console", lambda message: console.append(message.text))
    browser_page.add_init_script(COLLECT_VIOLATIONS)
    return browser_page, console


def test_the_api_docs_render_their_operations_under_the_policy(live_server, watched_page):
    page, console = watched_page
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_text("/api/v1/challenges/").first).to_be_visible(timeout=30_000)
    assert _violations(page, console) == []


def test_the_admin_and_the_leaderboard_run_under_the_policy(live_server, watched_page,
                                                            open_phase):
    page, console = watched_page
    UserFactory(username="root", password="a-long-secret-42", is_staff=True,
                is_superuser=True)
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("a-long-secret-42")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/competitions/phase/{open_phase.pk}/change/")
    expect(page.locator("#phase_form")).to_be_visible()
    page.goto(f"{live_server.url}/c/{open_phase.challenge.slug}/phases/{open_phase.slug}"
              "/leaderboard/")
    expect(page.locator("h1")).to_be_visible()
    assert _violations(page, console) == []
