"""Consent in headless Chromium: a participant refuses every study item, submits and is ranked;
another consents, withdraws through the confirmation page and never sees a survey again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from competitions.models import Submission
from surveys.models import ConsentDecision, Response, Section, StudyEvent
from tests.factories import ParticipantFactory, UserFactory
from tests.surveys.conftest import ConsentVersionFactory, StudyFactory, SurveyFactory, add_question

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-secret-42"
BANNER = "A short survey is waiting for you"


def _log_in(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_refuser_is_ranked_and_a_withdrawn_participant_never_sees_a_survey_again(
    celery_worker_process, live_server, browser_page, open_phase, good_predictions, settings
):
    settings.LEADERBOARD_POLL_SECONDS = 1
    page, base = browser_page, live_server.url
    challenge = open_phase.challenge
    study = StudyFactory(challenge=challenge, title="Participation study")
    ConsentVersionFactory(study=study, text="We study **who takes part**.")
    survey = SurveyFactory(study=study, title="Before you start")
    add_question(Section.objects.create(survey=survey, position=1, title="About you"), "why",
                 kind="long_text")
    UserFactory(username="rene", display_name="Rene", password=PASSWORD)
    ParticipantFactory(team__challenge=challenge, user__username="wanda",
                       user__password=PASSWORD)

    # Rene joins on the rules alone, refuses every consent item, submits and is ranked.
    _log_in(page, base, "rene")
    page.goto(f"{base}/c/{challenge.slug}/")
    page.get_by_label("I have read and accept the rules").check()
    page.get_by_role("button", name="Join the challenge").click()
    expect(page.get_by_text("None is needed to take part in the challenge")).to_be_visible()
    page.get_by_role("button", name="Save my decisions").click()  # every box left empty
    expect(page.get_by_text("Your decisions are saved")).to_be_visible()
    assert not ConsentDecision.objects.filter(user__username="rene", agreed=True).exists()
    page.get_by_role("link", name="Submit").first.click()
    expect(page.get_by_text("Agree to take part")).to_have_count(0)
    page.get_by_label("Predictions CSV").set_input_files(
        files=[{"name": "rene.csv", "mimeType": "text/csv", "buffer": good_predictions}]
    )
    page.get_by_label("Training compute").fill("1")
    page.get_by_label("Inference compute").fill("0.1")
    page.get_by_label("Hardware type").select_option("nvidia-t4")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/submissions/$"))
    expect(page.locator("[data-status]").first).to_have_text("Scored", timeout=60_000)
    assert Submission.objects.filter(created_by__username="rene").count() == 1
    page.get_by_role("link", name=f"Leaderboard: {open_phase.name}").click()
    row = page.locator("table.leaderboard tbody tr").filter(has_text="Rene")
    expect(row.locator("td").first).to_have_text("1")
    expect(page.get_by_text(BANNER)).to_have_count(0)

    # Wanda consents and is offered the survey; she withdraws through the confirmation page.
    _log_in(page, base, "wanda")
    expect(page.get_by_text("who takes part")).to_be_visible()  # the consent form comes first
    page.get_by_label(re.compile("^Taking part in the study")).check()
    page.get_by_label("Being contacted for an interview").check()
    page.get_by_role("button", name="Save my decisions").click()
    expect(page.get_by_text(f"{BANNER}: Before you start")).to_be_visible()
    page.goto(f"{base}/studies/")
    page.get_by_role("link", name=re.compile("^Withdraw from the study")).click()
    expect(page.get_by_text("No survey of this study is offered to you again")).to_be_visible()
    expect(page.get_by_text("leave the interview contact list")).to_be_visible()
    assert not StudyEvent.objects.exists()  # the page alone changes nothing
    page.get_by_role("button", name="Withdraw from the study").click()
    expect(page.get_by_text("You have withdrawn from")).to_be_visible()
    expect(page.get_by_text(BANNER)).to_have_count(0)
    assert StudyEvent.objects.filter(user__username="wanda").count() == 1

    page.goto(f"{base}/studies/surveys/{survey.pk}/")
    expect(page.get_by_text("You have withdrawn from this study")).to_be_visible()
    page.goto(f"{base}/c/{challenge.slug}/")
    expect(page.get_by_text(BANNER)).to_have_count(0)
    assert not Response.objects.filter(user__username="wanda").exists()
