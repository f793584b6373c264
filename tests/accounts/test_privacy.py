"""The privacy room: download my data, delete my account, and the old addresses of both."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from accounts import hooks, selectors, services
from competitions import services as competition_services
from competitions.models import Submission
from surveys import services as survey_services
from surveys.models import (
    Answer,
    Arm,
    ArmAssignment,
    ConsentDecision,
    Response,
    Section,
    SurveyNotice,
)
from tests.conftest import upload
from tests.factories import ParticipantFactory, UserFactory
from tests.surveys.conftest import (
    ALL_YES,
    ConsentVersionFactory,
    StudyFactory,
    SurveyFactory,
    add_question,
)

pytestmark = pytest.mark.django_db

DOWNLOAD = "accounts:my-data"
DELETE = "accounts:account-delete"


@pytest.fixture
def lived_in(open_phase, good_predictions):
    """A participant who joined, submitted, agreed to a study, answered it and has an arm; and a
    team mate who did the same, whose data must never reach the participant's download."""
    participant = ParticipantFactory(
        team__challenge=open_phase.challenge, user__username="ada", user__display_name="Ada L"
    )
    mate = ParticipantFactory(team=participant.team, user__username="mate-7f3a")
    study = StudyFactory(challenge=open_phase.challenge, slug="who-takes-part")
    version = ConsentVersionFactory(study=study)
    survey = SurveyFactory(study=study)
    question = add_question(Section.objects.create(survey=survey, position=1), "why", "long_text")
    Arm.objects.create(study=study, slug="single", name="Single metric")
    for user in (participant.user, mate.user):
        # Consenting to take part places the user in the study's (one) arm.
        survey_services.consent_record(user=user, study=study, version=version, choices=ALL_YES)
        response = survey_services.response_for(survey=survey, user=user)
        Answer.objects.create(response=response, question=question, text=f"by {user.username}")
        SurveyNotice.objects.create(survey=survey, user=user)
    competition_services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(good_predictions),
        description="gradient boosting",
    )
    return participant


def expected_download(participant) -> dict:
    """What the download held before the privacy room moved to accounts, field by field."""
    user = participant.user
    submission = Submission.objects.get(created_by=user)
    response = user.survey_responses.get()
    assignment = user.arm_assignments.get()
    return {
        "account": {
            "username": "ada", "email": "ada@example.org", "display_name": "Ada L",
            "date_joined": str(user.date_joined), "last_login": str(user.last_login),
        },
        "participations": [{
            "challenge": participant.challenge.slug, "team": participant.team.name,
            "joined_at": str(participant.joined_at),
        }],
        "submissions": [{
            "challenge": participant.challenge.slug, "phase": submission.phase.slug,
            "file_name": "predictions.csv", "description": "gradient boosting",
            "status": submission.status, "created_at": str(submission.created_at),
        }],
        "consent_decisions": [
            {"study": "who-takes-part", "version": 1, "item": d.item, "agreed": True,
             "decided_at": str(d.decided_at)}
            for d in ConsentDecision.objects.filter(user=user).order_by("pk")
        ],
        "survey_responses": [{
            "study": "who-takes-part", "survey": "pre", "survey_version": response.survey.version,
            "started_at": str(response.started_at), "completed_at": None,
            "answers": [{
                "variable": "why", "question": "Question why?", "codes": [], "number": None,
                "text": "by ada", "prefer_not_to_say": False,
            }],
        }],
        "design_arms": [
            {"study": "who-takes-part", "arm": "single", "assigned_at": str(assignment.assigned_at)}
        ],
        "study_events": [],
        "notices": [],
        "email_opt_outs": [],
    }


def test_my_download_holds_every_apps_sections_as_before_and_nothing_of_my_team_mate(
    lived_in, client
):
    client.force_login(lived_in.user)
    lived_in.user.refresh_from_db()
    response = client.get(reverse(DOWNLOAD))
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="my-cheetah-data.json"'
    data = json.loads(response.content)
    assert list(data) == list(expected_download(lived_in))
    assert data == expected_download(lived_in)
    assert "mate-7f3a" not in response.content.decode()


def test_deleting_my_account_takes_my_study_records_and_leaves_my_team_mates(lived_in, client):
    user, mate = lived_in.user, lived_in.team.members.exclude(user=lived_in.user).get().user
    client.force_login(user)
    refused = client.post(reverse(DELETE), {"confirm": "not-my-name"})
    assert refused.status_code == 302 and Response.objects.filter(user=user).exists()
    client.post(reverse(DELETE), {"confirm": "ada"})
    user.refresh_from_db()
    # The team keeps its submission, so the account is emptied rather than deleted.
    assert user.username.startswith("deleted-") and not user.is_active and user.email == ""
    for model in (Response, ConsentDecision, ArmAssignment, SurveyNotice):
        assert not model.objects.filter(user=user).exists(), model
        assert model.objects.filter(user=mate).exists(), model
    assert Submission.objects.filter(created_by=user).exists()


def test_an_account_whose_team_keeps_submissions_is_emptied_not_deleted(
    open_phase, good_predictions
):
    user = ParticipantFactory(
        team__challenge=open_phase.challenge, user__email="x@example.org"
    ).user
    competition_services.submission_create(
        phase=open_phase, user=user, upload=upload(good_predictions)
    )
    assert services.account_delete(user=user) == "anonymised"
    user.refresh_from_db()
    assert user.email == "" and not user.is_active and not user.has_usable_password()
    assert user.username.startswith("deleted-")


def test_an_account_without_submissions_is_deleted_outright():
    user = UserFactory()
    assert services.account_delete(user=user) == "deleted"
    assert not type(user).objects.filter(pk=user.pk).exists()


def test_a_failing_deletion_step_leaves_the_account_and_its_records(lived_in, monkeypatch):
    def broken(user):
        Response.objects.filter(user=user).delete()
        raise RuntimeError("step failed")

    monkeypatch.setattr(hooks, "account_deletion_steps", [*hooks.account_deletion_steps, broken])
    with pytest.raises(RuntimeError):
        services.account_delete(user=lived_in.user)
    assert Response.objects.filter(user=lived_in.user).exists()
    assert ConsentDecision.objects.filter(user=lived_in.user).exists()


def test_two_apps_cannot_claim_the_same_section_of_the_download(monkeypatch):
    monkeypatch.setattr(
        hooks, "personal_data_sections",
        [*hooks.personal_data_sections, lambda user: {"submissions": []}],
    )
    with pytest.raises(ImproperlyConfigured, match="submissions"):
        selectors.personal_data(UserFactory())


def test_the_profile_page_links_to_the_download_and_the_deletion(client):
    client.force_login(UserFactory())
    page = client.get(reverse("accounts:profile")).content.decode()
    assert reverse(DOWNLOAD) in page and reverse(DELETE) in page


# --- The old addresses, under the studies ------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"), [("/studies/me/data.json", DOWNLOAD), ("/studies/me/delete/", DELETE)]
)
def test_an_old_address_redirects_permanently_to_the_new_one(client, old, new):
    response = client.get(old)
    assert response.status_code == 301 and response["Location"] == reverse(new)


def test_confirming_on_the_old_delete_address_does_not_delete_but_sends_to_the_new_page(
    lived_in, client
):
    client.force_login(lived_in.user)
    response = client.post("/studies/me/delete/", {"confirm": "ada"})
    # 303: the browser asks the new page with a GET, where the user confirms again.
    assert response.status_code == 303 and response["Location"] == reverse(DELETE)
    lived_in.user.refresh_from_db()
    assert lived_in.user.username == "ada" and lived_in.user.is_active
    assert Response.objects.filter(user=lived_in.user).exists()
    assert client.get(response["Location"]).status_code == 200
