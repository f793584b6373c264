"""Merging two whole teams: allowed only while the merged team fits its size and its quota, the
sum of both teams' members' own submissions (as on Kaggle); refused with a reason otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from competitions import services
from competitions.models import (
    Challenge,
    Participant,
    Phase,
    Submission,
    Team,
    TeamMergeRequest,
)
from competitions.quota import remaining
from tests.conftest import upload
from tests.factories import ParticipantFactory, PhaseFactory

pytestmark = pytest.mark.django_db


def _used(phase, participant, n, **fields) -> None:
    """``n`` counted submissions of the participant in ``phase`` (queued: counted, unscored)."""
    for _ in range(n):
        Submission.objects.create(phase=phase, team=participant.team, created_by=participant.user,
                                  file="submissions/x.upload", original_name="x.csv", **fields)


def _team_of(participant) -> Team:
    return Participant.objects.get(pk=participant.pk).team


@pytest.fixture
def teams(open_phase, participant):
    """Team A (the participant and a teammate) asks; team B (one member) is asked."""
    mate = ParticipantFactory(team=participant.team)
    other = ParticipantFactory(team__challenge=open_phase.challenge, team__name="Bravo")
    return participant, mate, other


def _ask(teams) -> TeamMergeRequest:
    asker, _mate, other = teams
    return services.team_merge_request(team=asker.team, user=asker.user,
                                       into_name=other.team.name)


def test_accepting_moves_every_member_and_the_submissions_and_sums_the_quota(
    open_phase, teams
):
    asker, mate, other = teams
    old = asker.team
    _used(open_phase, asker, 1)
    _used(open_phase, other, 1)
    version = open_phase.leaderboard_version
    merged = services.team_merge_accept(merge_request=_ask(teams), user=other.user)
    assert merged == other.team
    assert {_team_of(p) for p in teams} == {other.team}
    assert Submission.objects.filter(team=other.team).count() == 2
    assert not Team.objects.filter(pk=old.pk).exists()  # neither members nor submissions left
    assert not TeamMergeRequest.objects.exists()
    left = remaining(open_phase, other.team, timezone.now())
    assert (left.today, left.total) == (3 - 2, 10 - 2)
    open_phase.refresh_from_db()
    assert open_phase.leaderboard_version == version + 1  # the boards are re-ranked


def test_the_accepting_teams_pick_stays_the_one_pick(open_phase, teams):
    asker, _mate, other = teams
    _used(open_phase, asker, 1, selected=True)
    _used(open_phase, other, 1, selected=True)
    services.team_merge_accept(merge_request=_ask(teams), user=other.user)
    picked = Submission.objects.get(team=other.team, selected=True)
    assert picked.created_by == other.user


def test_submissions_of_an_ended_phase_stay_with_the_team_that_left_it(open_phase, teams):
    asker, _mate, other = teams
    ended = PhaseFactory(challenge=open_phase.challenge, slug="first",
                         start=timezone.now() - timedelta(days=9),
                         end=timezone.now() - timedelta(days=2))
    _used(ended, asker, 4)
    _used(open_phase, asker, 1)
    old = asker.team
    services.team_merge_accept(merge_request=_ask(teams), user=other.user)
    assert Submission.objects.filter(team=old, phase=ended).count() == 4
    assert Submission.objects.filter(team=other.team, phase=open_phase).count() == 1
    assert not old.members.exists()


def test_a_merge_over_the_quota_is_refused_at_the_request_and_nothing_changes(open_phase, teams):
    asker, mate, other = teams
    _used(open_phase, asker, 1)
    _used(open_phase, mate, 1)
    _used(open_phase, other, 2)  # 4 today; the daily quota is 3
    with pytest.raises(ValidationError, match="Merging would give team “Bravo” 4 submissions"):
        _ask(teams)
    assert not TeamMergeRequest.objects.exists()
    assert _team_of(asker) == asker.team and _team_of(other) == other.team


def test_a_merge_that_no_longer_fits_is_refused_at_the_acceptance(open_phase, teams):
    asker, mate, other = teams
    merge = _ask(teams)
    _used(open_phase, asker, 2)
    _used(open_phase, other, 2)
    with pytest.raises(ValidationError, match="Merging would give team"):
        services.team_merge_accept(merge_request=merge, user=other.user)
    assert {_team_of(asker), _team_of(mate)} == {asker.team}
    assert other.team.members.count() == 1
    assert Submission.objects.filter(team=asker.team).count() == 2
    assert TeamMergeRequest.objects.filter(pk=merge.pk).exists()  # still pending


def test_filling_the_quota_exactly_is_allowed(open_phase, teams):
    asker, _mate, other = teams
    _used(open_phase, asker, 2)
    _used(open_phase, other, 1)
    services.team_merge_accept(merge_request=_ask(teams), user=other.user)
    assert remaining(open_phase, other.team, timezone.now()).now == 0


def test_a_merge_larger_than_the_team_size_is_refused(open_phase, teams):
    Challenge.objects.filter(pk=open_phase.challenge_id).update(max_team_size=2)
    with pytest.raises(ValidationError, match="would have 3 members; .* at most 2"):
        _ask(teams)


def test_no_merge_once_the_challenge_has_ended(open_phase, teams):
    Phase.objects.filter(pk=open_phase.pk).update(start=timezone.now() - timedelta(days=5),
                                                  end=timezone.now() - timedelta(days=1))
    with pytest.raises(ValidationError, match="has ended"):
        _ask(teams)


def test_only_a_member_asks_not_the_same_team_and_one_request_at_a_time(open_phase, teams):
    asker, mate, other = teams
    with pytest.raises(ValidationError, match="Only a member"):
        services.team_merge_request(team=asker.team, user=other.user, into_name="Bravo")
    with pytest.raises(ValidationError, match="cannot merge with itself"):
        services.team_merge_request(team=asker.team, user=asker.user,
                                    into_name=asker.team.name)
    with pytest.raises(ValidationError, match="No team is called"):
        services.team_merge_request(team=asker.team, user=asker.user, into_name="Nobody")
    _ask(teams)
    with pytest.raises(ValidationError, match="has asked “Bravo” already"):
        services.team_merge_request(team=asker.team, user=mate.user, into_name="Bravo")
    with pytest.raises(ValidationError, match="has asked to merge into your team"):
        services.team_merge_request(team=other.team, user=other.user,
                                    into_name=asker.team.name)


def test_only_the_team_asked_accepts_and_only_the_asking_team_cancels(open_phase, teams):
    asker, _mate, other = teams
    merge = _ask(teams)
    with pytest.raises(ValidationError, match="Only a member of the team asked"):
        services.team_merge_accept(merge_request=merge, user=asker.user)
    with pytest.raises(ValidationError, match="Only a member of the asking team"):
        services.team_merge_cancel(merge_request=merge, user=other.user)
    services.team_merge_decline(merge_request=merge, user=other.user)
    assert not TeamMergeRequest.objects.exists()
    assert _team_of(asker) == asker.team


def test_the_merged_teams_later_uploads_count_against_the_combined_use(
    open_phase, teams, good_predictions
):
    asker, mate, other = teams
    _used(open_phase, asker, 1)
    _used(open_phase, other, 1)
    services.team_merge_accept(merge_request=_ask(teams), user=other.user)
    services.submission_create(phase=open_phase, user=mate.user, upload=upload(good_predictions))
    with pytest.raises(ValidationError, match="all 3 submissions for today"):
        services.submission_create(phase=open_phase, user=other.user,
                                   upload=upload(good_predictions))
    assert Submission.objects.filter(team=other.team).count() == 3


# --- The page ---------------------------------------------------------------------------------


def _url(name, phase, *args):
    return reverse(f"competitions:{name}", args=[phase.challenge.slug, *args])


def test_the_team_page_offers_the_merge_and_shows_the_requests_with_the_quota(
    client, open_phase, teams
):
    asker, _mate, other = teams
    _used(open_phase, asker, 2)
    client.force_login(asker.user)
    page = client.get(_url("team", open_phase)).content.decode()
    assert "Merge with another team" in page and 'name="team"' in page
    assert "your team has used 2 of 3 today (UTC) and 2 of 10 in the phase" in page
    response = client.post(_url("team-merge", open_phase), {"team": "Bravo"}, follow=True)
    page = response.content.decode()
    assert "Request sent" in page and "Cancel the request" in page
    client.force_login(other.user)
    page = client.get(_url("team", open_phase)).content.decode()
    merge = TeamMergeRequest.objects.get()
    assert f"“{asker.team.name}” asks to merge into your team" in page
    assert _url("team-merge-accept", open_phase, merge.pk) in page
    assert _url("team-merge-decline", open_phase, merge.pk) in page
    assert "<td>2 / 2</td>" in page  # the asking team's use, today / in the phase


def test_refusals_are_shown_on_the_page_as_form_errors(client, open_phase, teams):
    asker, _mate, other = teams
    client.force_login(asker.user)
    response = client.post(_url("team-merge", open_phase), {"team": "Nobody"})
    assert response.status_code == 200
    assert "No team is called “Nobody” in this challenge." in response.content.decode()
    merge = _ask(teams)
    _used(open_phase, asker, 2)
    _used(open_phase, other, 2)
    client.force_login(other.user)
    response = client.post(_url("team-merge-accept", open_phase, merge.pk))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Merging would give team “Bravo” 4 submissions" in page
    assert "over the quota" in page
    assert _team_of(asker) == asker.team


def test_people_outside_the_teams_get_404_and_the_views_take_posts_only(
    client, open_phase, teams
):
    asker, _mate, other = teams
    merge = _ask(teams)
    outsider = ParticipantFactory(team__challenge=open_phase.challenge)
    for user, name in ((outsider.user, "team-merge-accept"), (outsider.user, "team-merge-cancel"),
                       (asker.user, "team-merge-accept"), (asker.user, "team-merge-decline"),
                       (other.user, "team-merge-cancel")):
        client.force_login(user)
        assert client.post(_url(name, open_phase, merge.pk)).status_code == 404, (user, name)
    client.force_login(other.user)
    assert client.get(_url("team-merge-accept", open_phase, merge.pk)).status_code == 405
    client.logout()
    response = client.post(_url("team-merge-accept", open_phase, merge.pk))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert _team_of(asker) == asker.team
    client.force_login(other.user)
    assert client.post(_url("team-merge-accept", open_phase, merge.pk)).status_code == 302
    assert _team_of(asker) == other.team
