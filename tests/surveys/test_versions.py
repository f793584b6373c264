"""Versions people can tell apart: one prompt per survey (its current version), none for whoever
refused; in the admin every survey, page and question names its version, a frozen survey's
pages are never offered as targets, and a change to a frozen survey is a form error that links
to making a new version — never a 500."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from notifications import tasks as notification_tasks
from surveys import selectors, services
from surveys.models import ConsentItem, Question, Response, Section, Survey, SurveyNotice
from surveys.roles import RESEARCHERS_GROUP, ensure_researcher_group
from tests.factories import ParticipantFactory, PhaseFactory, UserFactory
from tests.surveys.conftest import ALL_YES, SurveyFactory

pytestmark = pytest.mark.django_db

NONE = dict.fromkeys(ConsentItem.values, False)
BANNER = "A short survey is waiting for you: Before you start"


def _decide(user, study, choices=ALL_YES):
    services.consent_record(
        user=user, study=study, version=study.consent_versions.get(), choices=choices
    )
    return user


def _answered(survey, study) -> Survey:
    """``survey`` with a response, so its questions are frozen."""
    Response.objects.create(
        survey=survey, user=ParticipantFactory(team__challenge=study.challenge).user
    )
    return survey


def _frozen(survey, study) -> Survey:
    """``survey`` with a response, and its new version (returned)."""
    return services.survey_new_version(survey=_answered(survey, study))


def _refused_with_link(answer, survey) -> bool:
    """The admin page shows the frozen-survey error with its link to a new version."""
    html = answer.content.decode()
    link = reverse("admin:surveys_survey_new_version", args=[survey.pk])
    return "has responses: make a new version" in html and f'<a href="{link}">' in html


class _FormReader(HTMLParser):
    """What a browser would post back from the admin's change form (its own inputs only)."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.data = form_id, False, {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "name" not in a and tag != "option":
            return
        if tag == "input" and a.get("type") not in ("submit", "checkbox"):
            self.data[a["name"]] = a.get("value", "")
        elif tag == "input" and "checked" in a:
            self.data[a["name"]] = a.get("value", "on")
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.data[a["name"]] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def _survey_post(client, survey, **changes) -> dict:
    """The survey's change form as the page in the browser posts it, with ``changes``."""
    page = client.get(reverse("admin:surveys_survey_change", args=[survey.pk]))
    reader = _FormReader("survey_form")
    reader.feed(page.content.decode())
    data = reader.data
    for name in ("opens_at", "closes_at"):
        if name in changes:
            at = changes.pop(name)
            data |= {f"{name}_0": f"{at:%Y-%m-%d}", f"{name}_1": f"{at:%H:%M:%S}"}
    return data | changes


def _answer_links(html: str, survey: Survey) -> int:
    return html.count(f'href="{reverse("surveys:answer", args=[survey.pk])}"')


# --- One prompt per survey --------------------------------------------------------------------


def test_after_a_new_version_the_banner_and_the_waiting_list_name_the_survey_once(
    study, survey, member, client
):
    _decide(member, study)
    new = _frozen(survey, study)
    client.force_login(member)
    html = client.get(reverse("surveys:privacy")).content.decode()
    assert html.count(BANNER) == 1  # the banner at the top of every page
    assert html.count(">Before you start</a>") == 1  # the list of surveys waiting
    assert _answer_links(html, new) == 2 and _answer_links(html, survey) == 0
    assert selectors.surveys_due(member) == [new]


def test_a_refuser_is_offered_no_version_of_the_survey(study, survey, member, client):
    _decide(member, study, NONE)
    _frozen(survey, study)
    client.force_login(member)
    html = client.get(reverse("surveys:privacy")).content.decode()
    assert "waiting for you" not in html and "Before you start" not in html
    assert selectors.surveys_due(member) == []


def test_whoever_withdrew_is_offered_no_version_of_the_survey(study, survey, member):
    _decide(member, study)
    _frozen(survey, study)
    services.consent_withdraw(user=member, study=study)
    assert selectors.surveys_due(member) == []


def test_whoever_completed_the_old_version_is_not_asked_for_the_new_one(study, survey, member):
    _decide(member, study)
    Response.objects.create(survey=survey, user=member, completed_at=timezone.now())
    services.survey_new_version(survey=survey)
    assert selectors.surveys_due(member) == []


def test_whoever_saved_answers_to_the_old_version_finishes_that_one(study, survey, member):
    _decide(member, study)
    services.response_save_page(
        response=services.response_for(survey=survey, user=member),
        section=survey.sections.first(),
        values={"before": [[1], ""]},
        finish=False,
    )
    new = services.survey_new_version(survey=survey)
    assert selectors.surveys_due(member) == [survey]
    other = _decide(ParticipantFactory(team__challenge=study.challenge).user, study)
    assert selectors.surveys_due(other) == [new]


def test_whoever_only_opened_the_old_version_is_sent_to_the_new_one(study, survey, member):
    _decide(member, study)
    services.response_for(survey=survey, user=member)  # opened, nothing saved
    new = services.survey_new_version(survey=survey)
    assert selectors.surveys_due(member) == [new]


def test_the_banner_asks_the_same_few_queries_however_many_surveys_and_versions(
    study, survey, member, django_assert_max_num_queries
):
    _decide(member, study)
    newest = _frozen(survey, study)
    for _ in range(3):
        newest = services.survey_new_version(survey=newest)
    others = [SurveyFactory(study=study, slug=slug) for slug in ("a", "b", "c")]
    with django_assert_max_num_queries(6):  # surveys, consent, challenge, withdrawals, responses
        due = selectors.surveys_due(member)
    assert sorted(s.pk for s in due) == sorted([newest.pk, *(s.pk for s in others)])


def test_a_new_version_of_a_post_survey_is_announced_to_no_one_twice(
    study, member, mailoutbox, client
):
    phase = PhaseFactory(
        challenge=study.challenge,
        start=timezone.now() - timedelta(days=9),
        end=timezone.now() - timedelta(days=1),
    )
    post = SurveyFactory(
        study=study,
        slug="post",
        title="After the phase",
        trigger=Survey.Trigger.PHASE_END,
        phase=phase,
    )
    _decide(member, study)
    assert services.post_survey_announce(survey_id=post.pk) == 1
    Response.objects.create(survey=post, user=member)
    new = services.survey_new_version(survey=post)
    latecomer = _decide(ParticipantFactory(team__challenge=study.challenge).user, study)
    assert services.post_survey_announce(survey_id=post.pk) == 0  # the old version: no more
    assert services.post_survey_announce(survey_id=new.pk) == 1  # only the latecomer
    assert notification_tasks.send_notice_emails()["sent"] == 2  # the worker's mail run
    assert [m.to for m in mailoutbox] == [[member.email], [latecomer.email]]
    assert not SurveyNotice.objects.filter(survey=new, user=member).exists()
    assert selectors.surveys_due(member) == [new] and selectors.surveys_due(latecomer) == [new]
    client.force_login(member)
    html = client.get(reverse("surveys:privacy")).content.decode()
    assert html.count("A short survey is waiting for you: After the phase") == 1


# --- The admin ---------------------------------------------------------------------------------


@pytest.fixture
def staff_researcher(study, researcher):
    ensure_researcher_group()
    researcher.groups.add(Group.objects.get(name=RESEARCHERS_GROUP))
    return researcher


@pytest.fixture
def admin_user(db):
    return UserFactory(username="ada", is_staff=True, is_superuser=True)


def test_the_admin_names_the_version_of_every_survey_page_and_question(survey, study):
    new = _frozen(survey, study)
    page = new.sections.get(position=1)
    question = Question.objects.get(section=page, variable="gender")
    assert str(new) == "Before you start (v2)"
    assert str(page) == "Before you start (v2): About you"
    assert str(question) == "Before you start (v2): gender"


@pytest.mark.parametrize("who", ["admin_user", "staff_researcher"])
def test_the_question_add_form_offers_only_the_pages_of_the_unfrozen_version(
    who, survey, study, client, request
):
    new = _frozen(survey, study)
    client.force_login(request.getfixturevalue(who))
    html = client.get(reverse("admin:surveys_question_add")).content.decode()
    for page in new.sections.all():
        assert f'<option value="{page.pk}">Before you start (v2): {page.title}</option>' in html
    for page in survey.sections.all():
        assert f'<option value="{page.pk}"' not in html
    assert "(v1)" not in html


def test_adding_a_question_to_a_frozen_page_is_a_form_error_not_a_500(
    survey, study, admin_user, client
):
    _frozen(survey, study)
    page = survey.sections.get(position=1)
    client.force_login(admin_user)
    before = Question.objects.count()
    answer = client.post(
        reverse("admin:surveys_question_add"),
        {
            "section": page.pk,
            "position": 9,
            "kind": "short_text",
            "variable": "extra",
            "label": "Extra",
            "text": "Anything else?",
            "options-TOTAL_FORMS": 0,
            "options-INITIAL_FORMS": 0,
            "rows-TOTAL_FORMS": 0,
            "rows-INITIAL_FORMS": 0,
        },
    )
    assert answer.status_code == 200
    assert "Select a valid choice" in answer.content.decode()
    assert Question.objects.count() == before


def _question_post(question: Question) -> dict:
    return {
        "section": question.section_id,
        "position": question.position,
        "kind": question.kind,
        "variable": "renamed",
        "label": question.label,
        "text": "A new wording?",
        "prefer_not_to_say": "on",
        "options-TOTAL_FORMS": 0,
        "options-INITIAL_FORMS": 0,
        "rows-TOTAL_FORMS": 0,
        "rows-INITIAL_FORMS": 0,
    }


@pytest.mark.parametrize("who", ["admin_user", "staff_researcher"])
def test_editing_a_frozen_question_is_a_form_error_that_links_to_a_new_version(
    who, survey, study, client, request
):
    _answered(survey, study)
    question = Question.objects.get(section__survey=survey, variable="why")
    client.force_login(request.getfixturevalue(who))
    answer = client.post(
        reverse("admin:surveys_question_change", args=[question.pk]), _question_post(question)
    )
    assert answer.status_code == 200 and _refused_with_link(answer, survey)
    assert "Select a valid choice" not in answer.content.decode()  # the one reason is given
    question.refresh_from_db()
    assert question.variable == "why" and question.text == "Question why?"


def test_editing_a_frozen_survey_is_a_form_error_that_links_to_a_new_version(
    survey, study, admin_user, client
):
    _frozen(survey, study)
    client.force_login(admin_user)
    answer = client.post(
        reverse("admin:surveys_survey_change", args=[survey.pk]),
        _survey_post(client, survey, title="Before you start, again"),
    )
    assert answer.status_code == 200 and _refused_with_link(answer, survey)
    survey.refresh_from_db()
    assert survey.title == "Before you start"


def test_the_new_version_link_asks_first_then_makes_the_next_version(
    survey, study, staff_researcher, client
):
    _answered(survey, study)
    client.force_login(staff_researcher)
    url = reverse("admin:surveys_survey_new_version", args=[survey.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"version 2" in page.content
    assert Survey.objects.count() == 1  # a link followed changes nothing by itself
    answer = client.post(url)
    new = Survey.objects.get(version=2)
    assert answer.status_code == 302
    assert answer["Location"] == reverse("admin:surveys_survey_change", args=[new.pk])
    assert new.sections.count() == 2


def test_a_researcher_cannot_make_a_new_version_of_somebody_elses_survey(staff_researcher, client):
    from tests.surveys.conftest import StudyFactory

    other = SurveyFactory(study=StudyFactory())
    client.force_login(staff_researcher)
    url = reverse("admin:surveys_survey_new_version", args=[other.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert Survey.objects.count() == 1


def test_a_frozen_surveys_pages_are_read_only_in_its_change_form(survey, study, admin_user, client):
    _frozen(survey, study)
    client.force_login(admin_user)
    html = client.get(reverse("admin:surveys_survey_change", args=[survey.pk])).content.decode()
    assert 'name="sections-0-title"' not in html  # shown, not editable
    assert 'name="sections-MAX_NUM_FORMS" value="0"' in html  # no page can be added
    assert reverse("admin:surveys_survey_new_version", args=[survey.pk]) in html


def test_the_section_add_form_offers_only_unfrozen_surveys(survey, study, admin_user, client):
    new = _frozen(survey, study)
    client.force_login(admin_user)
    html = client.get(reverse("admin:surveys_section_add")).content.decode()
    assert f'<option value="{new.pk}">Before you start (v2)</option>' in html
    assert f'<option value="{survey.pk}"' not in html


def test_the_model_refuses_a_frozen_change_in_clean_so_any_form_shows_it(survey, study):
    _frozen(survey, study)
    question = Question.objects.get(section__survey=survey, variable="gender")
    question.text = "Changed?"
    with pytest.raises(ValidationError, match="make a new version"):
        question.full_clean()
    page = survey.sections.first()
    page.title = "Renamed"
    with pytest.raises(ValidationError, match="make a new version"):
        page.full_clean()
    with pytest.raises(ValidationError, match="make a new version"):
        Section(survey=survey, position=3, title="More").full_clean()


def test_a_question_cannot_be_moved_out_of_a_frozen_survey(survey, study):
    new = _frozen(survey, study)
    question = Question.objects.get(section__survey=survey, variable="why")
    question.section = new.sections.get(position=1)
    question.variable = "why2"
    with pytest.raises(ValidationError, match="make a new version"):
        question.full_clean()
    with pytest.raises(ValidationError):
        question.save()


def test_a_frozen_survey_can_still_be_extended_in_the_admin(survey, study, admin_user, client):
    _frozen(survey, study)
    client.force_login(admin_user)
    later = survey.closes_at + timedelta(days=7)
    answer = client.post(
        reverse("admin:surveys_survey_change", args=[survey.pk]),
        _survey_post(client, survey, closes_at=later),
    )
    assert answer.status_code == 302
    survey.refresh_from_db()
    assert survey.closes_at.date() == later.date()


def test_a_frozen_question_s_page_is_read_only_and_links_to_a_new_version(
    survey, study, staff_researcher, client
):
    _frozen(survey, study)
    question = Question.objects.get(section__survey=survey, variable="gender")
    client.force_login(staff_researcher)
    html = client.get(reverse("admin:surveys_question_change", args=[question.pk])).content.decode()
    assert 'name="variable"' not in html and 'name="options-0-label"' not in html
    assert reverse("admin:surveys_survey_new_version", args=[survey.pk]) in html


def test_a_survey_that_freezes_while_the_form_is_open_is_refused_at_save_not_a_500(
    survey, study, admin_user, client, monkeypatch
):
    """The first response can arrive between the form's validation and its save: the model's
    save refuses, the change is rolled back and the page says why, with the link."""
    _answered(survey, study)
    question = Question.objects.get(section__survey=survey, variable="why")
    monkeypatch.setattr(Question, "clean", lambda self: None)  # validated before it froze
    client.force_login(admin_user)
    url = reverse("admin:surveys_question_change", args=[question.pk])
    answer = client.post(url, _question_post(question), follow=True)
    assert answer.status_code == 200 and answer.redirect_chain == [(url, 302)]
    assert _refused_with_link(answer, survey)
    question.refresh_from_db()
    assert question.variable == "why"


def test_deleting_a_frozen_surveys_pages_from_the_list_deletes_nothing(
    survey, study, staff_researcher, client
):
    _frozen(survey, study)
    ids = list(survey.sections.values_list("pk", flat=True))
    client.force_login(staff_researcher)
    answer = client.post(
        reverse("admin:surveys_section_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert answer.status_code == 200 and b"Cannot delete" in answer.content
    assert survey.sections.count() == 2
    assert Question.objects.filter(section__survey=survey).count() == 5
