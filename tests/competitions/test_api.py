"""The REST API: the pages' numbers, token authentication, refusals with reasons, and nothing a
user may not see."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from competitions.models import Phase, Submission
from tests.conftest import rank_and_analyse, score_now, upload
from tests.factories import ParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def scored(open_phase, participant, good_predictions) -> Submission:
    from competitions import services

    submission = services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(good_predictions)
    )
    score_now(submission)
    submission.refresh_from_db()
    return submission


def _token(api, user) -> str:
    response = api.post(reverse("api:token"), {"username": user.username,
                                               "password": "secret-pass-123"})
    assert response.status_code == 200, response.content
    return response.json()["token"]


def test_the_api_leaderboard_is_the_pages_json_download(client, api, open_phase, scored):
    args = [open_phase.challenge.slug, open_phase.slug]
    from_api = api.get(reverse("api:leaderboard", args=[*args, "main"])).json()
    from_page = client.get(reverse("competitions:leaderboard-export", args=[*args, "json"])).json()
    assert from_api == from_page
    auroc = scored.result["public"]["overall"]["auroc"]["value"]
    # Released at the phase's resolution (3 decimals), as the page shows it.
    assert from_api["entries"][0]["metrics"]["auroc"] == round(auroc, 3)
    assert from_api["entries"][0]["team"] == scored.team.name


def test_a_participant_submits_with_a_token_and_follows_the_status(
    api, open_phase, participant, good_predictions
):
    api.credentials(HTTP_AUTHORIZATION=f"Token {_token(api, participant.user)}")
    url = reverse("api:submission-create", args=[open_phase.challenge.slug, open_phase.slug])
    response = api.post(url, {"file": upload(good_predictions), "description": "API"},
                        format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued" and body["description"] == "API"
    detail = api.get(reverse("api:submission", args=[body["id"]])).json()
    assert [e["kind"] for e in detail["events"]] == ["received", "queued"]
    assert [s["id"] for s in api.get(reverse("api:submissions")).json()] == [body["id"]]


def test_a_late_submission_is_refused_with_the_reason_and_nothing_is_stored(
    api, open_phase, participant, good_predictions
):
    Phase.objects.filter(pk=open_phase.pk).update(
        start=timezone.now() - timedelta(days=3), end=timezone.now() - timedelta(days=1)
    )
    api.credentials(HTTP_AUTHORIZATION=f"Token {_token(api, participant.user)}")
    url = reverse("api:submission-create", args=[open_phase.challenge.slug, open_phase.slug])
    response = api.post(url, {"file": upload(good_predictions)}, format="multipart")
    assert response.status_code == 400
    assert "it takes no more submissions" in response.json()["errors"][0]
    assert not Submission.objects.exists()


def test_submitting_needs_a_token_and_membership(api, open_phase, good_predictions):
    url = reverse("api:submission-create", args=[open_phase.challenge.slug, open_phase.slug])
    assert api.post(url, {"file": upload(good_predictions)}, format="multipart").status_code == 401
    outsider = UserFactory()
    api.credentials(HTTP_AUTHORIZATION=f"Token {_token(api, outsider)}")
    assert api.post(url, {"file": upload(good_predictions)}, format="multipart").status_code == 404
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.get(reverse("api:submissions")).status_code == 401


def test_another_teams_submission_is_not_found(api, scored, open_phase):
    rival = ParticipantFactory(team__challenge=open_phase.challenge)
    api.force_authenticate(rival.user)
    assert api.get(reverse("api:submission", args=[scored.pk])).status_code == 404
    assert api.get(reverse("api:submissions")).json() == []


def test_private_scores_and_hidden_scores_stay_hidden_in_the_api(api, open_phase, scored):
    api.force_authenticate(scored.created_by)
    args = [open_phase.challenge.slug, open_phase.slug, "main"]
    url = reverse("api:leaderboard", args=args)
    assert api.get(url, {"split": "private"}).status_code == 404
    detail = api.get(reverse("api:submission", args=[scored.pk])).json()
    assert set(detail["results"]) == {"public"}
    Phase.objects.filter(pk=open_phase.pk).update(score_visibility="after_end")
    body = api.get(url).json()
    assert body["hidden"] is True and body["entries"] == []


def test_the_schema_and_its_docs_page_are_served_without_a_cdn(client, open_phase):
    schema = client.get(reverse("api:schema"))
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/challenges/{slug}/phases/{phase}/leaderboards/{board}/" in text
    docs = client.get(reverse("api:docs")).content.decode()
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', docs)
    assert external == []
    assert "swagger-ui" in docs


def test_anonymous_readers_see_public_challenges_with_their_leaderboards(api, open_phase):
    rank_and_analyse(open_phase)
    challenges = api.get(reverse("api:challenges")).json()
    (item,) = [c for c in challenges if c["slug"] == open_phase.challenge.slug]
    assert item["phases"][0]["leaderboards"] == ["main"]
