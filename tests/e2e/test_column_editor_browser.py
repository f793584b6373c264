"""An organiser in headless Chromium builds a leaderboard column from selects (no id typed),
saves, and the participants' leaderboard shows it with the worker's values; a group withheld
from participants cannot be chosen for a ranked column."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from competitions import services
from competitions.models import Phase
from competitions.roles import ORGANISERS_GROUP
from tests.conftest import upload
from tests.e2e.conftest import finished, wait_for, worker_wait_idle
from tests.factories import ParticipantFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_an_organiser_adds_a_column_from_selects_and_the_leaderboard_shows_its_values(
    celery_worker_process, live_server, browser_page, open_phase, good_predictions
):
    # Age band 80+ (about 190 cases per split) is withheld under this minimum; sex is not.
    Phase.objects.filter(pk=open_phase.pk).update(min_group_size=400)
    participant = ParticipantFactory(team__challenge=open_phase.challenge, team__name="Alpha")
    submission = services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(good_predictions)
    )
    scored = wait_for(lambda: finished(submission.pk), what="the submission to be scored")
    assert scored.status == "scored", scored.message
    female = next(g for g in scored.result["public"]["groups"]
                  if (g["attribute"], g["group"]) == ("sex", "female"))
    expected = female["metrics"]["sensitivity"]["value"]

    organiser = UserFactory(username="olga", password="a-long-secret-42", is_staff=True)
    organiser.groups.add(Group.objects.get(name=ORGANISERS_GROUP))
    open_phase.challenge.organisers.add(organiser)
    board = open_phase.leaderboards.get(is_primary=True)

    page = browser_page
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(VIOLATIONS)
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill("a-long-secret-42")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/competitions/leaderboard/{board.pk}/change/")

    # The ranked column's select offers the withheld group, disabled.
    ranked_row = page.locator("#columns-0")
    withheld = ranked_row.locator("select[data-column-population] option[value='age_band=80+']")
    expect(withheld).to_contain_text("age_band = 80+ (n=380; withheld from participants")
    expect(withheld).to_be_disabled()

    # The empty row: ranked by default, so its withheld groups are disabled until unticked.
    row = page.locator("#columns-4")
    population = row.locator("select[data-column-population]")
    ranked = row.locator("input[name='columns-4-ranked']")
    expect(ranked).to_be_checked()
    expect(population.locator("option[value='age_band=80+']")).to_be_disabled()
    ranked.uncheck()
    expect(population.locator("option[value='age_band=80+']")).to_be_enabled()
    ranked.check()
    expect(population.locator("option[value='age_band=80+']")).to_be_disabled()
    ranked.uncheck()
    # A row added with "Add another" follows its box too.
    page.locator("#columns-group .add-row a").click()
    added = page.locator("#columns-5 select[data-column-population] option[value='age_band=80+']")
    expect(added).to_be_disabled()
    page.locator("input[name='columns-5-ranked']").uncheck()
    expect(added).to_be_enabled()
    page.locator("#columns-5 .inline-deletelink").click()

    row.locator("select[name='columns-4-metric']").select_option(
        label="sensitivity — Share of positive cases decided positive (recall)."
    )
    population.select_option(label="sex = female (n=2200)")
    row.locator("input[name='columns-4-title']").fill("Sensitivity, women")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    column = board.columns.get(title="Sensitivity, women")
    assert (column.column_id, column.ranked) == ("sensitivity@sex=female", False)

    worker_wait_idle(celery_worker_process)  # the save asked the worker to rank the board again
    page.goto(f"{live_server.url}/c/{open_phase.challenge.slug}/phases/{open_phase.slug}"
              "/leaderboard/")
    table = page.locator("table.leaderboard")
    expect(table.locator("thead")).to_contain_text("Sensitivity, women")
    alpha = table.locator("tbody tr").filter(has_text="Alpha")
    expect(alpha).to_contain_text(f"{expected:.3f}")
    assert page.evaluate("window.__violations") == []
    assert [m for m in console if "Content Security" in m] == []
