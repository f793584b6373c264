"""The submission page shows subgroup results with intervals, under the visibility rules."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from competitions import services
from competitions.roles import ORGANISERS_GROUP
from tests.conftest import score_now, upload
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(open_phase, participant, good_predictions):
    # Men (858 public cases) fall under this minimum, women (1083) do not.
    open_phase.min_group_size = 1000
    open_phase.bootstrap_resamples = 50
    open_phase.save()
    submission = services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(good_predictions)
    )
    score_now(submission)
    submission.refresh_from_db()
    return submission


def _page(client, user, submission) -> str:
    client.force_login(user)
    url = reverse("competitions:submission", args=[submission.phase.challenge.slug, submission.pk])
    return client.get(url).content.decode()


def _group_row(page: str, group: str) -> str:
    start = page.index(f'<th scope="row">{group}')  # the group heads its row
    return page[start : page.index("</tr>", start)]


def test_participants_see_intervals_but_not_the_values_of_small_groups(
    client, participant, scored
):
    page = _page(client, participant.user, scored)
    groups = scored.result["public"]["groups"]
    shown = next(g for g in groups if not g["suppressed"] and g["attribute"] != "sex")
    low, high = shown["metrics"]["auroc"]["ci"]
    assert f"{low:.3f}–{high:.3f}" in _group_row(page, shown["group"])
    male_row = _group_row(page, "male")
    assert "(small)" in male_row
    assert "hidden" in male_row
    male = next(g for g in groups if g["group"] == "male")
    assert f"{male['metrics']['auroc']['value']:.3f}" not in male_row
    # Women are not small, but the only other group of sex: hidden too, with no size, or the
    # men's values would follow from the overall ones.
    female = next(g for g in groups if g["group"] == "female")
    assert female["suppressed"] and not female["small"]
    female_row = _group_row(page, "female")
    assert "(small)" not in female_row and "hidden" in female_row
    assert f"{female['metrics']['auroc']['value']:.3f}" not in female_row
    assert f">{female['n']}<" not in female_row


def test_private_results_are_shown_to_organisers_but_not_to_participants_before_the_end(
    client, participant, scored
):
    assert "Results on the private cases" not in _page(client, participant.user, scored)
    organiser = UserFactory(is_staff=True)
    organiser.groups.add(Group.objects.get(name=ORGANISERS_GROUP))
    scored.phase.challenge.organisers.add(organiser)
    page = _page(client, organiser, scored)
    assert "Results on the private cases" in page
    male = next(g for g in scored.result["public"]["groups"] if g["group"] == "male")
    assert f"{male['metrics']['auroc']['value']:.3f}" in _group_row(page, "male")


def test_picking_a_submission_is_offered_only_where_a_board_counts_the_pick(
    client, participant, scored
):
    assert "Count this submission" not in _page(client, participant.user, scored)
    board = scored.phase.leaderboards.get(is_primary=True)
    board.counting = "chosen"
    board.save()
    assert "Count this submission" in _page(client, participant.user, scored)
