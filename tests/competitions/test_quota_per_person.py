"""The quota counts per person: hopping, creating or joining teams never frees it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from competitions import services
from competitions.models import Participant, Phase, Submission
from competitions.quota import remaining
from tests.competitions.builders import make_scored
from tests.conftest import rank_and_analyse, upload
from tests.factories import ParticipantFactory

pytestmark = pytest.mark.django_db


def _submit(phase, user, content) -> Submission:
    return services.submission_create(phase=phase, user=user, upload=upload(content))


def _me(participant) -> Participant:
    return Participant.objects.select_related("team").get(pk=participant.pk)


def test_a_new_team_does_not_bring_a_new_quota(open_phase, participant, good_predictions):
    Phase.objects.filter(pk=open_phase.pk).update(submissions_per_day=20, submissions_total=10)
    open_phase.refresh_from_db()
    for _ in range(10):
        _submit(open_phase, participant.user, good_predictions)
    services.team_create(participant=_me(participant), name="A fresh start")
    with pytest.raises(ValidationError, match="used all 10 submissions for this phase"):
        _submit(open_phase, participant.user, good_predictions)
    assert Submission.objects.count() == 10


def test_leaving_a_team_keeps_the_days_uploads_with_the_person(
    open_phase, participant, good_predictions
):
    ParticipantFactory(team=participant.team)  # a teammate keeps the old team
    for _ in range(3):
        _submit(open_phase, participant.user, good_predictions)
    services.team_leave(participant=_me(participant))
    with pytest.raises(ValidationError, match="all 3 submissions for today"):
        _submit(open_phase, participant.user, good_predictions)


def test_the_teammate_left_behind_gets_the_slots_back(open_phase, participant, good_predictions):
    teammate = ParticipantFactory(team=participant.team)
    for _ in range(3):
        _submit(open_phase, participant.user, good_predictions)
    services.team_leave(participant=_me(participant))
    _submit(open_phase, teammate.user, good_predictions)  # their own quota use is 0


def test_joining_a_team_is_refused_when_the_merged_team_exceeds_the_quota(
    open_phase, participant, good_predictions
):
    other = ParticipantFactory(team__challenge=open_phase.challenge)
    for _ in range(2):
        _submit(open_phase, participant.user, good_predictions)
        _submit(open_phase, other.user, good_predictions)
    with pytest.raises(ValidationError, match="Joining would give team"):
        services.team_join(team=other.team, user=participant.user, accept_rules=True)
    assert _me(participant).team_id == participant.team_id


def test_a_merge_that_fits_is_allowed_and_the_team_then_shares_what_is_left(
    open_phase, participant, good_predictions
):
    other = ParticipantFactory(team__challenge=open_phase.challenge)
    _submit(open_phase, participant.user, good_predictions)
    _submit(open_phase, other.user, good_predictions)
    services.team_join(team=other.team, user=participant.user, accept_rules=True)
    now = Submission.objects.latest("created_at").created_at
    assert remaining(open_phase, other.team, now).today == 1
    _submit(open_phase, participant.user, good_predictions)
    with pytest.raises(ValidationError, match="all 3 submissions for today"):
        _submit(open_phase, other.user, good_predictions)


def test_a_team_everyone_left_is_no_longer_an_entry_on_the_leaderboard(open_phase, participant):
    rival = ParticipantFactory(team__challenge=open_phase.challenge)
    make_scored(open_phase, participant, auroc=0.9)
    make_scored(open_phase, rival, auroc=0.8)
    ghost = participant.team
    services.team_join(team=rival.team, user=participant.user, accept_rules=True)
    rank_and_analyse(open_phase)
    rows = open_phase.leaderboards.get(is_primary=True).snapshots.get(split="public").rows
    assert [row["team"] for row in rows] == [rival.team_id]
    assert Submission.objects.filter(team=ghost).exists()  # kept for the organisers


def test_the_upload_page_and_the_api_say_what_is_left(client, open_phase, participant,
                                                      good_predictions):
    _submit(open_phase, participant.user, good_predictions)
    client.force_login(participant.user)
    slug = open_phase.challenge.slug
    page = client.get(reverse("competitions:submission-create", args=[slug, open_phase.slug]))
    assert "can submit 2 more today (UTC) and 9 more in this phase" in page.content.decode()
    api = APIClient()
    api.force_authenticate(participant.user)
    phase = api.get(reverse("api:challenge", args=[slug])).json()["phases"][0]
    assert phase["quota"] == {"today": 2, "total": 9}
    assert APIClient().get(reverse("api:challenge", args=[slug])).json()["phases"][0][
        "quota"] is None
