"""The researchers' admin: scoped to their studies, closed to organisers, frozen questions, and
the item bank copied through an admin action."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from competitions.roles import ORGANISERS_GROUP, ensure_organiser_group
from surveys.models import Question, Response
from surveys.roles import RESEARCHERS_GROUP, ensure_researcher_group
from tests.factories import PhaseFactory, UserFactory
from tests.surveys.conftest import StudyFactory, SurveyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_researcher(study, researcher):
    ensure_researcher_group()
    researcher.groups.add(Group.objects.get(name=RESEARCHERS_GROUP))
    return researcher


def test_a_researcher_sees_only_the_surveys_of_their_studies(survey, staff_researcher, client):
    other = SurveyFactory(study=StudyFactory(), title="Somebody else's survey")
    client.force_login(staff_researcher)
    page = client.get(reverse("admin:surveys_survey_changelist")).content.decode()
    assert survey.title in page and other.title not in page
    change = client.get(reverse("admin:surveys_survey_change", args=[other.pk]))
    assert change.status_code == 302  # "does not exist": not even its title is shown


def test_an_organiser_of_the_challenge_gets_no_survey_admin(study, survey, client):
    ensure_organiser_group()
    organiser = UserFactory(username="olga", is_staff=True)
    organiser.groups.add(Group.objects.get(name=ORGANISERS_GROUP))
    study.challenge.organisers.add(organiser)
    client.force_login(organiser)
    assert client.get(reverse("admin:surveys_survey_changelist")).status_code == 403
    assert client.get(reverse("admin:surveys_question_changelist")).status_code == 403


def test_an_answered_question_is_read_only_in_the_admin(survey, member, staff_researcher, client):
    Response.objects.create(survey=survey, user=member)
    question = Question.objects.get(section__survey=survey, variable="gender")
    client.force_login(staff_researcher)
    url = reverse("admin:surveys_question_change", args=[question.pk])
    page = client.get(url)
    assert page.status_code == 200 and b'name="variable"' not in page.content
    client.post(url, {"variable": "renamed"})
    question.refresh_from_db()
    assert question.variable == "gender"


def test_the_item_bank_action_copies_the_chosen_items(study, staff_researcher, client):
    survey = SurveyFactory(study=study, slug="demo")
    client.force_login(staff_researcher)
    url = reverse("admin:surveys_survey_changelist")
    form = client.post(url, {"action": "add_from_item_bank", "_selected_action": [survey.pk]})
    assert b"example wording written for Cheetah" in form.content
    client.post(
        url,
        {
            "action": "add_from_item_bank",
            "_selected_action": [survey.pk],
            "apply": "Copy",
            "items": ["gender", "self_efficacy"],
        },
    )
    variables = list(
        Question.objects.filter(section__survey=survey).values_list("variable", flat=True)
    )
    assert variables == ["gender", "selfeff"]


def test_a_researcher_chooses_only_among_the_phases_and_boards_of_their_studies(
    study, staff_researcher, client
):
    own = PhaseFactory(challenge=study.challenge, name="Own phase")
    PhaseFactory(name="Foreign phase")
    client.force_login(staff_researcher)
    page = client.get(reverse("admin:surveys_study_change", args=[study.pk])).content.decode()
    assert own.name in page and "Foreign phase" not in page
