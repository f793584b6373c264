"""Withdrawal stops everything: a confirmation page says what happens, and then no banner, no
survey, no new response, no contact-list entry, no reminder; the event is in the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from notifications import tasks as notification_tasks
from notifications.models import Notice
from surveys import selectors, services, tasks
from surveys.models import Answer, ConsentItem, Response, StudyEvent, Survey, SurveyNotice
from tests.factories import PhaseFactory
from tests.surveys.conftest import ALL_YES

pytestmark = pytest.mark.django_db


def _agree(user, study, choices=ALL_YES):
    services.consent_record(
        user=user, study=study, version=study.consent_versions.get(), choices=choices
    )


def _keeping(study):
    study.keep_answers_after_withdrawal = True
    study.ethics_approval = "Cheetah University Research Ethics Committee, ref. 2026/117"
    study.save()
    return study


def test_the_confirmation_page_says_what_happens_and_changes_nothing(study, member, client):
    _agree(member, study)
    client.force_login(member)
    url = reverse("surveys:withdraw", args=[study.slug])
    page = client.get(url).content.decode()
    assert "deleted now" in page
    assert "leave the interview contact list" in page
    assert "No survey of this study is offered to you again" in page
    assert "Nothing changes in the challenge" in page
    assert '<button type="submit" class="danger">' in page
    assert selectors.has_agreed(member, study, ConsentItem.PARTICIPATE)
    assert not StudyEvent.objects.exists()


def test_where_answers_are_kept_the_pages_name_the_legal_basis_and_the_ethics_approval(
    study, member, client
):
    _keeping(study)
    _agree(member, study)
    client.force_login(member)
    for url in (
        reverse("surveys:withdraw", args=[study.slug]),
        reverse("surveys:consent", args=[study.slug]),
    ):
        page = client.get(url).content.decode()
        assert "Art. 17(3)(d)" in page and "Art. 89" in page, url
        assert "ref. 2026/117" in page and "Recital 26" in page, url
        assert "anonymous data" not in page.replace("not anonymous data", ""), url


def test_keeping_answers_needs_an_ethics_approval(study):
    study.keep_answers_after_withdrawal = True
    with pytest.raises(ValidationError, match="ethics approval"):
        study.full_clean()


def test_withdrawal_then_the_survey_url_creates_nothing(study, survey, member, client):
    _agree(member, study)
    client.force_login(member)
    assert "A short survey is waiting" in client.get(reverse("surveys:privacy")).content.decode()
    client.post(reverse("surveys:withdraw", args=[study.slug]))
    assert selectors.given_items(member, study) == []
    home = client.get(reverse("competitions:challenge-list")).content.decode()
    assert "A short survey is waiting" not in home
    page = client.get(reverse("surveys:answer", args=[survey.pk]))
    assert page.status_code == 200
    assert "You have withdrawn from this study" in page.content.decode()
    assert not Response.objects.filter(user=member).exists()
    with pytest.raises(ValidationError):
        services.response_for(survey=survey, user=member)
    assert not Response.objects.filter(user=member).exists()


def test_contacts_after_withdrawal(study, member, researcher, client):
    _agree(member, study)
    client.force_login(researcher)
    csv_url = reverse("surveys:contacts", args=[study.slug]) + "?format=csv"
    assert member.email in client.get(csv_url).content.decode()
    services.consent_withdraw(user=member, study=study)
    assert member.email not in client.get(csv_url).content.decode()


def test_withdrawal_stops_reminders(study, member, mailoutbox):
    phase = PhaseFactory(
        challenge=study.challenge,
        start=timezone.now() - timedelta(days=3),
        end=timezone.now() - timedelta(days=1),
    )
    post = Survey.objects.create(
        study=study, slug="post", title="After", trigger=Survey.Trigger.PHASE_END, phase=phase,
        opens_at=timezone.now() - timedelta(days=3), closes_at=timezone.now() + timedelta(days=9),
    )
    _agree(member, study)
    SurveyNotice.objects.create(survey=post, user=member)  # made, not yet e-mailed
    services.consent_withdraw(user=member, study=study)
    assert not SurveyNotice.objects.filter(user=member).exists()
    assert services.post_survey_announce(survey_id=post.pk) == 0
    assert mailoutbox == [] and not SurveyNotice.objects.filter(user=member).exists()


def test_a_survey_notice_written_but_not_yet_e_mailed_is_taken_back_by_withdrawal(
    study, member, mailoutbox
):
    phase = PhaseFactory(
        challenge=study.challenge,
        start=timezone.now() - timedelta(days=3),
        end=timezone.now() - timedelta(days=1),
    )
    Survey.objects.create(
        study=study, slug="post", title="After", trigger=Survey.Trigger.PHASE_END, phase=phase,
        opens_at=timezone.now() - timedelta(days=3), closes_at=timezone.now() + timedelta(days=9),
    )
    _agree(member, study)
    assert tasks.announce_post_surveys() == 1
    assert Notice.objects.filter(user=member, email=Notice.Email.PENDING).count() == 1
    services.consent_withdraw(user=member, study=study)
    assert not Notice.objects.filter(user=member).exists()
    assert notification_tasks.send_notice_emails()["sent"] == 0 and mailoutbox == []


def test_withdrawal_is_in_the_audit_log_with_what_it_did(study, survey, member):
    _agree(member, study)
    Response.objects.create(survey=survey, user=member)
    event = services.consent_withdraw(user=member, study=study)
    assert event.kind == StudyEvent.Kind.WITHDRAWAL and event.user == member
    assert sorted(event.detail["items"]) == sorted(ConsentItem.values)
    assert event.detail["responses_deleted"] == 1 and event.detail["answers_kept"] is False


def test_withdrawal_is_offered_only_to_whoever_has_given_something(study, member, client):
    _agree(member, study, dict.fromkeys(ConsentItem.values, False))
    client.force_login(member)
    url = reverse("surveys:withdraw", args=[study.slug])
    assert url not in client.get(reverse("surveys:privacy")).content.decode()
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert not StudyEvent.objects.exists()


def test_kept_answers_stay_as_they_were_and_consenting_again_starts_afresh(
    study, survey, member, client
):
    _keeping(study)
    _agree(member, study)
    kept = services.response_for(survey=survey, user=member)
    Answer.objects.create(response=kept, question=survey.sections.first().questions.first(),
                          codes=[1])
    services.consent_withdraw(user=member, study=study)
    assert Response.objects.get(user=member) == kept  # kept, per the study's setting
    _agree(member, study)  # consents again later
    assert selectors.surveys_due(member) == []  # the kept survey is not reopened
    client.force_login(member)
    page = client.get(reverse("surveys:answer", args=[survey.pk])).content.decode()
    assert "can no longer change" in page
    assert Response.objects.filter(user=member).count() == 1 and Answer.objects.count() == 1
    newer = Survey.objects.create(
        study=study, slug="later", title="Later", trigger=Survey.Trigger.JOIN,
        opens_at=timezone.now() - timedelta(days=1), closes_at=timezone.now() + timedelta(days=9),
    )
    assert selectors.surveys_due(member) == [newer]


def test_after_deletion_consenting_again_offers_the_survey_afresh(study, survey, member):
    _agree(member, study)
    services.response_for(survey=survey, user=member)
    services.consent_withdraw(user=member, study=study)
    assert selectors.surveys_due(member) == []
    _agree(member, study)
    assert selectors.surveys_due(member) == [survey]
    fresh = services.response_for(survey=survey, user=member)
    assert fresh.answers.count() == 0


def test_my_data_download_holds_my_withdrawal(study, member, client):
    _agree(member, study)
    services.consent_withdraw(user=member, study=study)
    client.force_login(member)
    data = client.get(reverse("accounts:my-data")).json()
    [event] = data["study_events"]
    assert event["study"] == study.slug and event["kind"] == "withdrawal"
