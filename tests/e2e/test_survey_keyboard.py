"""A participant answers the consent form and a two-page survey in Chromium with the keyboard
only (Tab, Space, arrow keys, typing, Enter): no click anywhere."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from surveys.models import Response, Section
from tests.factories import ParticipantFactory
from tests.surveys.conftest import ConsentVersionFactory, StudyFactory, SurveyFactory, add_question

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never received the focus by Tab")


def test_a_survey_can_be_answered_with_the_keyboard_alone(live_server, browser_page):
    page = browser_page
    study = StudyFactory()
    ConsentVersionFactory(study=study, text="We study **who takes part**.")
    survey = SurveyFactory(study=study)
    one = Section.objects.create(survey=survey, position=1, title="About you")
    add_question(one, "gender", options=[(1, "Woman"), (2, "Man"), (3, "Non-binary")])
    add_question(
        one,
        "before",
        options=[(1, "Yes"), (0, "No")],
        required=True,
        help_text="Any earlier challenge counts.",
    )
    two = Section.objects.create(survey=survey, position=2, title="Your view")
    add_question(two, "why", kind="long_text")
    user = ParticipantFactory(
        team__challenge=study.challenge, user__username="kim", user__password="a-long-secret-42"
    ).user

    page.goto(f"{live_server.url}/accounts/login/")
    tab_to(page, "#id_username")
    page.keyboard.type("kim")
    page.keyboard.press("Tab")
    page.keyboard.type("a-long-secret-42")
    page.keyboard.press("Enter")

    # A participant of the study's challenge is asked for consent at the next visit: the
    # page after logging in is the consent form.
    expect(page.get_by_text("who takes part")).to_be_visible()
    tab_to(page, "#id_participate")
    page.keyboard.press("Space")
    tab_to(page, "#id_research")
    page.keyboard.press("Space")
    tab_to(page, "button[type=submit]:not(.link)")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your decisions are saved")).to_be_visible()

    page.goto(f"{live_server.url}/studies/surveys/{survey.pk}/")
    tab_to(page, "#id_gender_0")
    page.keyboard.press("ArrowDown")  # moves the choice to "Man" within the radio group
    page.keyboard.press("Enter")  # submits with "Next": the required question is empty
    error = page.locator("#q-before-error")
    expect(error).to_contain_text("Please answer this question")
    assert error.get_attribute("aria-live") == "polite"
    described = page.locator("#id_before_0").get_attribute("aria-describedby")
    assert described.split() == ["q-before-help", "q-before-error"]

    tab_to(page, "#id_before_0")
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    tab_to(page, "#id_why")
    page.keyboard.type("Curious about subgroup fairness.")
    tab_to(page, "button[value=next]")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Thank you: your answers are saved")).to_be_visible()

    response = Response.objects.get(user=user, survey=survey)
    answers = {a.question.variable: a for a in response.answers.select_related("question")}
    assert response.completed_at is not None
    assert answers["gender"].codes == [2] and answers["before"].codes == [1]
    assert answers["why"].text == "Curious about subgroup fairness."
