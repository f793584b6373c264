"""The team's submission list: numbered per team, with each submission's primary score as
released and, for the one a leaderboard counts, its rank."""

from __future__ import annotations

import pytest
from django.urls import reverse

from competitions import services
from competitions.models import Submission
from tests.conftest import score_now, upload
from tests.factories import ParticipantFactory

pytestmark = pytest.mark.django_db


def _submit(phase, participant, content: bytes) -> Submission:
    return services.submission_create(phase=phase, user=participant.user, upload=upload(content))


def test_a_teams_first_submission_is_number_one_whatever_the_site_wide_id(
    open_phase, participant, good_predictions, client
):
    other = ParticipantFactory(team__challenge=open_phase.challenge)
    for _ in range(3):
        _submit(open_phase, other, good_predictions)
    first = _submit(open_phase, participant, good_predictions)
    second = _submit(open_phase, participant, good_predictions)
    assert first.pk > 3 and (first.number, second.number) == (1, 2)

    client.force_login(participant.user)
    page = client.get(reverse("competitions:submission", args=[
        open_phase.challenge.slug, second.pk])).content.decode()
    assert "Submission #2 of" in page
    api = client.get(reverse("api:submission", args=[second.pk])).json()
    assert api["number"] == 2 and api["id"] == second.pk


def test_submissions_that_join_a_team_by_a_merge_take_its_next_numbers(
    open_phase, participant, good_predictions
):
    other = ParticipantFactory(team__challenge=open_phase.challenge, team__name="Bravo")
    mine = [_submit(open_phase, participant, good_predictions) for _ in range(2)]
    theirs = _submit(open_phase, other, good_predictions)
    request = services.team_merge_request(team=participant.team, user=participant.user,
                                          into_name="Bravo")
    services.team_merge_accept(merge_request=request, user=other.user)
    numbers = dict(Submission.objects.filter(team=other.team).values_list("pk", "number"))
    assert numbers == {theirs.pk: 1, mine[0].pk: 2, mine[1].pk: 3}


def test_the_list_shows_the_released_score_and_the_rank_of_the_counted_submission(
    open_phase, participant, good_predictions, client
):
    open_phase.release_policy = "full"
    open_phase.save(update_fields=["release_policy"])
    scored = _submit(open_phase, participant, good_predictions)
    score_now(scored)
    failed = _submit(open_phase, participant, b"case_id,score\nnope,1\n")
    score_now(failed)
    scored.refresh_from_db()
    value = scored.result["public"]["overall"][open_phase.primary_metric]["value"]

    client.force_login(participant.user)
    html = client.get(reverse("competitions:submissions",
                              args=[open_phase.challenge.slug])).content.decode()
    row_of = {s.pk: html.split(f'data-submission="{s.pk}"')[1].split("</tr>")[0]
              for s in (scored, failed)}
    # Rounded to the phase's release decimals, as everywhere a participant looks.
    assert f"{open_phase.primary_metric} {value:.3f}" in row_of[scored.pk]
    assert f"{value:.6f}" not in html
    assert "counts on the leaderboard" in row_of[scored.pk]
    assert "<td>1<br>" in row_of[scored.pk].replace("\n", "")
    assert "counts on the leaderboard" not in row_of[failed.pk]
    assert f">{scored.number}</a>" in row_of[scored.pk]


def test_a_submission_the_ladder_did_not_release_shows_no_score(
    open_phase, participant, good_predictions, client
):
    first = _submit(open_phase, participant, good_predictions)
    score_now(first)
    again = _submit(open_phase, participant, good_predictions)  # the same file: not released
    score_now(again)
    again.refresh_from_db()
    assert again.released is False
    client.force_login(participant.user)
    html = client.get(reverse("competitions:submissions",
                              args=[open_phase.challenge.slug])).content.decode()
    row = html.split(f'data-submission="{again.pk}"')[1].split("</tr>")[0]
    cells = [cell.split("</td>")[0].strip() for cell in row.split("<td>")[1:]]
    assert cells[5] == "—" and cells[6] == "—"  # no score, no rank
    assert 'class="withheld"' in cells[4]
