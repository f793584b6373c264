"""Answering surveys: pages, partial saves, conditions, prefer-not-to-say, one response each,
frozen questions and new versions, the item bank, and the post-survey announcement."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from competitions import services as competition_services
from notifications import tasks as notification_tasks
from surveys import selectors, services, tasks
from surveys.models import Answer, Question, Response, Survey, SurveyNotice
from tests.factories import ParticipantFactory, PhaseFactory, UserFactory
from tests.surveys.conftest import ALL_YES, SurveyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def consenting(study, member):
    services.consent_record(
        user=member, study=study, version=study.consent_versions.get(), choices=ALL_YES
    )
    return member


def _url(survey, page=1):
    return f"{reverse('surveys:answer', args=[survey.pk])}?page={page}"


def test_the_pre_survey_is_due_after_joining_and_consenting(study, survey, consenting):
    assert selectors.surveys_due(consenting) == [survey]


def test_answering_without_consent_leads_to_the_consent_form(survey, member, client):
    client.force_login(member)
    page = client.get(_url(survey))
    assert page.status_code == 302 and "/consent/" in page["Location"]


def test_a_required_question_left_empty_is_announced_and_nothing_moves_on(
    survey, consenting, client
):
    client.force_login(consenting)
    page = client.post(_url(survey), {"gender": "1", "action": "next"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Please answer this question" in html
    assert 'aria-describedby="q-before-error"' in html and 'aria-live="polite"' in html
    assert "<legend>Question gender?" in html


def test_saving_a_partial_page_keeps_the_answers(survey, consenting, client):
    client.force_login(consenting)
    client.post(_url(survey), {"gender": "4", "gender__describe": "genderfluid", "action": "save"})
    response = Response.objects.get(user=consenting)
    assert response.completed_at is None
    answer = Answer.objects.get(response=response, question__variable="gender")
    assert answer.codes == [4] and answer.text == "genderfluid"
    again = client.get(_url(survey))
    assert b'value="4" aria-describedby="q-gender-error" id="id_gender_3" checked' in again.content


def test_a_condition_hides_the_follow_up_and_prefer_not_to_say_is_recorded(
    survey, consenting, client
):
    client.force_login(consenting)
    client.post(_url(survey), {"gender": "-99", "langs": ["1", "2"], "before": "0"})
    second = client.get(_url(survey, 2))
    assert b"Question ncomp?" not in second.content
    client.post(_url(survey, 2), {"why": "To learn", "action": "next"})
    response = Response.objects.get(user=consenting)
    assert response.completed_at is not None
    by_var = {a.question.variable: a for a in response.answers.select_related("question")}
    assert by_var["gender"].declined and by_var["langs"].codes == [1, 2]
    assert "ncomp" not in by_var and by_var["why"].text == "To learn"


def test_prefer_not_to_say_and_options_together_are_refused(survey, consenting, client):
    client.force_login(consenting)
    page = client.post(_url(survey), {"langs": ["1", "-99"], "before": "1"})
    assert "not both" in page.content.decode()


def test_answers_can_change_until_the_survey_closes(survey, consenting, client):
    client.force_login(consenting)
    client.post(_url(survey), {"before": "1"})
    client.post(_url(survey), {"before": "0"})
    assert Answer.objects.get(question__variable="before").codes == [0]
    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    page = client.post(_url(survey), {"before": "1"})
    assert b"closed" in page.content
    assert Answer.objects.get(question__variable="before").codes == [0]


def test_one_response_per_participant_and_survey_is_a_database_rule(survey, member):
    Response.objects.create(survey=survey, user=member)
    with pytest.raises(IntegrityError):
        Response.objects.create(survey=survey, user=member)


def test_an_answered_survey_cannot_be_recoded_in_place_but_gets_a_new_version(survey, member):
    Response.objects.create(survey=survey, user=member)
    option = Question.objects.get(section__survey=survey, variable="gender").options.first()
    option.code = 9
    with pytest.raises(ValidationError, match="make a new version"):
        option.save()
    new = services.survey_new_version(survey=survey)
    assert (new.slug, new.version) == (survey.slug, 2)
    follow_up = Question.objects.get(section__survey=new, variable="ncomp")
    assert follow_up.show_if_question.section.survey_id == new.pk
    copy = Question.objects.get(section__survey=new, variable="gender").options.first()
    copy.code = 9
    copy.save()


def test_the_item_bank_copies_demographics_and_scale_structures(study):
    survey = SurveyFactory(study=study, slug="demo")
    made = services.survey_add_bank_items(survey=survey, keys=["gender", "ethnicity", "belonging"])
    assert [q.variable for q in made] == ["gender", "ethnic", "belong"]
    assert made[0].options.filter(self_describe=True).count() == 1
    assert made[1].special_category
    assert made[2].rows.count() == 5 and made[2].rows.get(variable="belong3").reverse_coded
    with pytest.raises(ValidationError, match="already has"):
        services.survey_add_bank_items(survey=survey, keys=["gender"])


def test_variables_must_be_unique_and_fit_the_export_prefix(survey):
    section = survey.sections.first()
    duplicate = Question(section=section, kind="single", variable="GENDER", label="x", text="x")
    with pytest.raises(ValidationError, match="already has"):
        duplicate.full_clean()
    too_long = Question(section=section, kind="single", variable="a" * 30, label="x", text="x")
    with pytest.raises(ValidationError, match="Shorten the variable name"):
        too_long.full_clean()


def test_a_condition_must_point_to_an_earlier_page(survey):
    first, second = survey.sections.all()
    later = Question.objects.get(section=second, variable="why")
    early = Question(
        section=first,
        kind="single",
        variable="x1",
        label="x",
        text="x",
        show_if_question=later,
        show_if_codes="1",
    )
    with pytest.raises(ValidationError, match="earlier page"):
        early.full_clean()


def test_the_post_survey_is_announced_once_by_e_mail_and_on_the_site(study, consenting, client):
    phase = PhaseFactory(
        challenge=study.challenge,
        start=timezone.now() - timedelta(days=10),
        end=timezone.now() - timedelta(hours=1),
    )
    post = SurveyFactory(study=study, slug="post", trigger=Survey.Trigger.PHASE_END, phase=phase)
    assert tasks.announce_post_surveys() == 1
    assert tasks.announce_post_surveys() == 0
    assert notification_tasks.send_notice_emails()["sent"] == 1  # the worker's mail run
    assert len(mail.outbox) == 1 and consenting.email in mail.outbox[0].to
    assert SurveyNotice.objects.filter(survey=post, user=consenting).count() == 1
    client.force_login(consenting)
    home = client.get(reverse("competitions:challenge-list"))
    assert b"A short survey is waiting for you" in home.content


def test_a_post_survey_waits_for_its_phase_to_end(study, consenting):
    phase = PhaseFactory(challenge=study.challenge)
    SurveyFactory(study=study, slug="post", trigger=Survey.Trigger.PHASE_END, phase=phase)
    assert tasks.announce_post_surveys() == 0
    assert not mail.outbox


def test_answers_past_the_retention_date_are_deleted_by_the_scheduled_task(study, survey, member):
    Response.objects.create(survey=survey, user=member)
    study.retention_until = timezone.now().date() - timedelta(days=1)
    study.save()
    assert tasks.purge_answers_past_retention() == 1
    assert tasks.purge_answers_past_retention() == 0
    assert not Response.objects.exists()


def test_joining_a_challenge_with_a_study_makes_its_pre_survey_due(
    study, survey, django_capture_on_commit_callbacks
):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        competition_services.participant_join(
            challenge=study.challenge, user=user, accept_rules=True
        )
    services.consent_record(
        user=user, study=study, version=study.consent_versions.get(), choices=ALL_YES
    )
    assert selectors.surveys_due(user) == [survey]


def test_a_challenge_study_is_closed_to_people_outside_the_challenge(study, survey, client):
    client.force_login(UserFactory())
    assert client.get(reverse("surveys:consent", args=[study.slug])).status_code == 404
    assert client.get(_url(survey)).status_code == 404
    assert client.post(reverse("surveys:withdraw", args=[study.slug])).status_code == 404


def test_a_likert_grid_is_answered_row_by_row(study, consenting, client):
    grid_survey = SurveyFactory(study=study, slug="grid")
    services.survey_add_bank_items(survey=grid_survey, keys=["belonging"])
    client.force_login(consenting)
    page = client.get(_url(grid_survey)).content.decode()
    assert page.count('<fieldset class="grid-row">') == 5
    answers = {f"belong{i}": str(i) for i in range(1, 5)} | {"belong5": "-99"}
    client.post(_url(grid_survey), answers)
    saved = {
        a.row.variable: (a.codes, a.declined)
        for a in Answer.objects.filter(response__survey=grid_survey).select_related("row")
    }
    assert saved == {f"belong{i}": ([i], False) for i in range(1, 5)} | {"belong5": ([], True)}


def test_randomised_options_are_shuffled_per_response_stably_with_self_describe_last(
    study, survey, client
):
    gender = Question.objects.get(section__survey=survey, variable="gender")
    Question.objects.filter(pk=gender.pk).update(randomise_options=True)
    orders = set()
    for _ in range(6):
        user = ParticipantFactory(team__challenge=study.challenge).user
        services.consent_record(
            user=user, study=study, version=study.consent_versions.get(), choices=ALL_YES
        )
        client.force_login(user)
        first = _option_order(client.get(_url(survey)).content.decode())
        assert first == _option_order(client.get(_url(survey)).content.decode())  # stable
        assert first[-2:] == ["4", "-99"]  # self-describe, then prefer not to say
        assert sorted(first[:3]) == ["1", "2", "3"]
        orders.add(tuple(first))
    assert len(orders) > 1  # six responses (fixed ids) do not all share one order


def _option_order(html: str) -> list[str]:
    return re.findall(r'name="gender" value="(-?\d+)"', html)


def test_special_category_questions_are_asked_only_with_explicit_consent(study, client):
    survey = SurveyFactory(study=study, slug="demo")
    services.survey_add_bank_items(survey=survey, keys=["gender", "ethnicity"])
    version = study.consent_versions.get()
    for special in (False, True):
        user = ParticipantFactory(team__challenge=study.challenge).user
        choices = {**ALL_YES, "special": special}
        services.consent_record(user=user, study=study, version=version, choices=choices)
        client.force_login(user)
        page = client.get(_url(survey)).content.decode()
        assert "What is your gender?" in page
        assert ("Which ethnic group" in page) is special


def test_a_waiting_survey_is_announced_on_every_page_until_answered(survey, consenting, client):
    client.force_login(consenting)
    home = client.get(reverse("competitions:challenge-list")).content.decode()
    assert f"A short survey is waiting for you: {survey.title}" in home
    Response.objects.create(survey=survey, user=consenting, completed_at=timezone.now())
    home = client.get(reverse("competitions:challenge-list")).content.decode()
    assert "A short survey is waiting for you" not in home


def test_a_whole_number_question_refuses_a_fraction_and_keeps_a_count(
    survey, consenting, client
):
    Question.objects.filter(variable="ncomp").update(whole_number=True)
    client.force_login(consenting)
    client.post(_url(survey), {"gender": "1", "before": "1", "action": "next"})
    refused = client.post(_url(survey, 2), {"ncomp": "2.5", "action": "next"})
    assert refused.status_code == 200 and b'step="1"' in refused.content
    assert not Answer.objects.filter(question__variable="ncomp").exists()
    client.post(_url(survey, 2), {"ncomp": "3", "action": "next"})
    assert Answer.objects.get(question__variable="ncomp").number == 3


def test_ordered_options_cannot_also_be_randomised(survey):
    question = Question.objects.get(variable="gender")
    question.ordered = question.randomise_options = True
    with pytest.raises(ValidationError, match="random order"):
        question.clean()
