"""Versioned consent: asking again on a new version, withdrawal, own data."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from competitions import services as competition_services
from competitions.models import Submission
from surveys import services
from surveys.models import ConsentDecision, ConsentItem, Response
from tests.conftest import upload
from tests.factories import ParticipantFactory, UserFactory
from tests.surveys.conftest import ALL_YES, ConsentVersionFactory, StudyFactory

pytestmark = pytest.mark.django_db


def _agree(user, study, **choices):
    version = study.consent_versions.order_by("-version").first()
    return services.consent_record(
        user=user, study=study, version=version, choices={**ALL_YES, **choices}
    )


@pytest.fixture
def gated_phase(open_phase):
    study = StudyFactory(challenge=open_phase.challenge)
    ConsentVersionFactory(study=study)
    return open_phase, study


def test_a_new_version_asks_again_at_the_next_visit_but_never_blocks_submitting(
    gated_phase, good_predictions, client
):
    phase, study = gated_phase
    user = ParticipantFactory(team__challenge=phase.challenge).user
    _agree(user, study)
    ConsentVersionFactory(study=study, version=2, text="Now we also record the time of day.")
    competition_services.submission_create(phase=phase, user=user, upload=upload(good_predictions))
    assert Submission.objects.filter(phase=phase).count() == 1
    client.force_login(user)
    page = client.get(reverse("competitions:challenge-list"))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("surveys:consent", args=[study.slug]))
    form = client.get(page["Location"])
    assert b"version 1" in form.content and b"time of day" in form.content
    assert b'aria-describedby="id_research_helptext"' in form.content
    assert b'<small id="id_research_helptext">' in form.content
    client.post(form.wsgi_request.get_full_path(), {"participate": "on", "research": "on"})
    assert client.get(reverse("competitions:challenge-list")).status_code == 200
    latest = ConsentDecision.objects.filter(user=user, item="participate").last()
    assert latest.version.version == 2 and latest.agreed and latest.decided_at is not None


def test_each_decision_is_recorded_with_its_version_and_time_and_history_is_kept(study, member):
    _agree(member, study)
    _agree(member, study, contact=False)
    contact = ConsentDecision.objects.filter(user=member, study=study, item="contact")
    assert [d.agreed for d in contact] == [True, False]
    assert all(d.version.version == 1 for d in contact)
    assert ConsentDecision.objects.filter(user=member, item="research").count() == 1


def test_withdrawal_deletes_answers_unless_the_study_keeps_them(study, survey, member):
    _agree(member, study)
    Response.objects.create(survey=survey, user=member)
    services.consent_withdraw(user=member, study=study)
    assert not Response.objects.filter(user=member).exists()

    study.keep_answers_after_withdrawal = True
    study.save()
    other = ParticipantFactory(team__challenge=study.challenge).user
    _agree(other, study)
    Response.objects.create(survey=survey, user=other)
    services.consent_withdraw(user=other, study=study)
    assert Response.objects.filter(user=other).exists()


def test_the_settings_page_shows_decisions_and_links_to_the_withdrawal_page(
    study, member, client
):
    _agree(member, study, contact=False)
    client.force_login(member)
    page = client.get(reverse("surveys:privacy"))
    assert page.status_code == 200
    assert study.title.encode() in page.content and b"Withdraw from the study" in page.content
    assert reverse("surveys:withdraw", args=[study.slug]).encode() in page.content
    client.post(reverse("surveys:withdraw", args=[study.slug]))
    latest = ConsentDecision.objects.filter(user=member, item=ConsentItem.RESEARCH).last()
    assert latest.agreed is False


def test_my_data_download_holds_my_answers_and_nobody_elses(study, survey, member, client):
    """Surveys' sections reach the accounts download through ``accounts.hooks``."""
    _agree(member, study)
    other = ParticipantFactory(team__challenge=study.challenge).user
    Response.objects.create(survey=survey, user=member)
    Response.objects.create(survey=survey, user=other)
    client.force_login(member)
    data = json.loads(client.get(reverse("accounts:my-data")).content)
    assert data["account"]["username"] == member.username
    assert len(data["survey_responses"]) == 1
    assert other.username not in json.dumps(data)
    assert {d["item"] for d in data["consent_decisions"]} == set(ConsentItem.values)


def test_deleting_my_account_removes_it_and_my_answers(study, survey, member, client):
    """Deleting from the accounts page runs surveys' deletion step."""
    _agree(member, study)
    Response.objects.create(survey=survey, user=member)
    client.force_login(member)
    wrong = client.post(reverse("accounts:account-delete"), {"confirm": "nope"})
    assert wrong.status_code == 302 and type(member).objects.filter(pk=member.pk).exists()
    client.post(reverse("accounts:account-delete"), {"confirm": member.username})
    assert not type(member).objects.filter(pk=member.pk).exists()
    assert not Response.objects.exists() and not ConsentDecision.objects.exists()


def test_a_replaced_consent_form_cannot_be_agreed_to(study, member):
    old = study.consent_versions.get()
    ConsentVersionFactory(study=study, version=2)
    with pytest.raises(ValidationError, match="replaced"):
        services.consent_record(user=member, study=study, version=old, choices=ALL_YES)


def test_a_user_outside_the_challenge_is_not_asked(study, client):
    client.force_login(UserFactory())
    assert client.get(reverse("competitions:challenge-list")).status_code == 200
