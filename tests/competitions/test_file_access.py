"""The ground truth is never served, and a team's files are its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from competitions import services
from competitions.models import Challenge, Phase
from tests.conftest import score_now, upload
from tests.factories import ParticipantFactory, PhaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def _participant_urls(phase, submission) -> list[str]:
    slug = phase.challenge.slug
    return [
        reverse("competitions:challenge-detail", args=[slug]),
        reverse("competitions:phase-download", args=[slug, phase.slug, "cases"]),
        reverse("competitions:phase-download", args=[slug, phase.slug, "sample"]),
        reverse("competitions:leaderboard", args=[slug, phase.slug]),
        reverse("competitions:submissions", args=[slug]),
        reverse("competitions:submission-status", args=[slug]),
        reverse("competitions:submission", args=[slug, submission.pk]),
        reverse("competitions:submission-file", args=[slug, submission.pk]),
        reverse("competitions:team", args=[slug]),
    ]


def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def test_no_participant_page_or_download_contains_the_ground_truth(
    client, open_phase, participant, good_predictions, truth_csv, demo_data
):
    submission = services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(good_predictions)
    )
    client.force_login(participant.user)
    truth_rows = truth_csv.decode().splitlines()[1:50]
    for url in _participant_urls(open_phase, submission):
        response = client.get(url)
        assert response.status_code == 200, url
        body = _body(response).decode()
        assert open_phase.ground_truth.name not in body, url
        assert not any(row in body for row in truth_rows), url


def test_the_derived_downloads_hold_ids_only(client, open_phase, participant, demo_data):
    client.force_login(participant.user)
    slug = open_phase.challenge.slug
    cases = _body(client.get(reverse("competitions:phase-download", args=[slug, open_phase.slug,
                                                                          "cases"])))
    sample = _body(client.get(reverse("competitions:phase-download", args=[slug, open_phase.slug,
                                                                           "sample"])))
    assert cases.decode().splitlines() == ["case_id", *demo_data.truth["case_id"]]
    sample_lines = sample.decode().splitlines()
    assert sample_lines[0] == "case_id,score"
    assert {line.split(",")[1] for line in sample_lines[1:]} == {"0.5"}


def test_the_stored_ground_truth_has_no_url(client, open_phase, participant, settings):
    client.force_login(participant.user)
    name = open_phase.ground_truth.name
    for url in (f"/{settings.MEDIA_URL}{name}", f"/private/{name}", f"/media/{name}", f"/{name}"):
        assert client.get(url).status_code == 404, url


def test_another_teams_submission_and_file_are_not_found(
    client, open_phase, participant, good_predictions
):
    submission = services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(good_predictions)
    )
    rival = ParticipantFactory(team__challenge=open_phase.challenge)
    client.force_login(rival.user)
    slug = open_phase.challenge.slug
    assert client.get(reverse("competitions:submission", args=[slug, submission.pk])).status_code \
        == 404
    assert client.get(
        reverse("competitions:submission-file", args=[slug, submission.pk])
    ).status_code == 404
    status = client.get(reverse("competitions:submission-status", args=[slug])).json()
    assert status == {"submissions": []}


def test_a_teammate_can_download_the_teams_file(client, open_phase, participant, good_predictions):
    submission = services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(good_predictions)
    )
    teammate = ParticipantFactory(team=participant.team)
    client.force_login(teammate.user)
    response = client.get(
        reverse("competitions:submission-file", args=[open_phase.challenge.slug, submission.pk])
    )
    assert _body(response) == good_predictions
    assert response["Content-Disposition"].startswith("attachment")


def test_a_draft_challenge_is_not_found_for_participants(client, open_phase):
    Challenge.objects.filter(pk=open_phase.challenge_id).update(status=Challenge.Status.DRAFT)
    client.force_login(UserFactory())
    url = reverse("competitions:challenge-detail", args=[open_phase.challenge.slug])
    assert client.get(url).status_code == 404


def test_a_private_challenges_data_is_hidden_from_non_participants(client, open_phase):
    Challenge.objects.filter(pk=open_phase.challenge_id).update(
        access=Challenge.Access.PRIVATE, invitation_code="abc"
    )
    client.force_login(UserFactory())
    slug = open_phase.challenge.slug
    url = reverse("competitions:phase-download", args=[slug, open_phase.slug, "cases"])
    assert client.get(url).status_code == 404
    assert client.get(reverse("competitions:leaderboard", args=[slug, open_phase.slug])) \
        .status_code == 404


def test_private_split_pages_are_not_found_for_participants_before_the_end(
    client, open_phase, participant
):
    client.force_login(participant.user)
    slug = open_phase.challenge.slug
    for name in ("competitions:leaderboard", "competitions:similarity"):
        url = reverse(name, args=[slug, open_phase.slug])
        assert client.get(url + "?split=private").status_code == 404, name
        assert client.get(url).status_code == 200, name


def test_after_the_end_a_phase_without_private_cases_still_shows_its_leaderboard(
    client, participant, good_predictions, demo_data
):
    phase = PhaseFactory(challenge=participant.team.challenge)
    truth = demo_data.truth.drop(columns=["split"]).to_csv(index=False).encode()
    services.truth_upload(phase=phase, upload=upload(truth, "truth.csv"))
    submission = services.submission_create(
        phase=phase, user=participant.user, upload=upload(good_predictions)
    )
    score_now(submission)
    Phase.objects.filter(pk=phase.pk).update(
        start=timezone.now() - timedelta(days=3), end=timezone.now() - timedelta(days=1)
    )
    client.force_login(participant.user)
    url = reverse("competitions:leaderboard", args=[phase.challenge.slug, phase.slug])
    page = client.get(url).content.decode()
    assert participant.team.name in page
    assert "private cases" not in page
    assert client.get(url + "?split=private").status_code == 404


def test_a_truth_without_a_split_gets_the_phases_seeded_private_share(
    client, participant, demo_data
):
    phase = PhaseFactory(challenge=participant.team.challenge, private_share=0.25, split_seed=3)
    frame = demo_data.truth.drop(columns=["split"])
    services.truth_upload(phase=phase, upload=upload(frame.to_csv(index=False).encode()))
    phase.refresh_from_db()
    positives = int(frame["label"].sum())
    expected = round(0.25 * positives) + round(0.25 * (len(frame) - positives))
    assert phase.truth_report["split"]["private"] == expected
    assert phase.has_private_cases
    client.force_login(participant.user)
    url = reverse("competitions:phase-download", args=[phase.challenge.slug, phase.slug, "cases"])
    listed = b"".join(client.get(url).streaming_content).decode()
    assert "private" not in listed and listed.splitlines()[0] == "case_id"
