"""The results page: what-if winners, agreement of the columns, entries by subgroup."""

from __future__ import annotations

import pytest
from django.urls import reverse
from scipy.stats import kendalltau, rankdata

from competitions.selectors import results_view
from tests.competitions.builders import make_board, make_scored, make_teams
from tests.conftest import rank_and_analyse

pytestmark = pytest.mark.django_db


def test_what_if_names_each_columns_winner_and_tau_matches_scipy(open_phase):
    a, b, c = make_teams(open_phase, 3)
    make_scored(open_phase, a, auroc=0.9, sensitivity=0.5)
    make_scored(open_phase, b, auroc=0.8, sensitivity=0.7)
    make_scored(open_phase, c, auroc=0.7, sensitivity=0.7)
    board = make_board(open_phase, "mean_rank", [("auroc", True), ("sensitivity", True)])
    rank_and_analyse(open_phase)
    view = results_view(board, split="public", user=a.user)
    assert [(w["column"], w["winners"]) for w in view["what_if"]] == [
        ("auroc", [a.team.name]), ("sensitivity", [b.team.name, c.team.name]),
    ]
    expected = kendalltau(rankdata([-0.9, -0.8, -0.7], method="min"),
                          rankdata([-0.5, -0.7, -0.7], method="min")).statistic
    # A participant's view: released at the phase's resolution.
    assert view["correlation"]["rows"][0]["cells"][1]["value"] == round(expected, 3)


def test_the_subgroup_heatmap_hides_small_groups_from_participants(client, open_phase):
    (a,) = make_teams(open_phase, 1)
    make_scored(open_phase, a, auroc=0.9, sensitivity=0.8,
            groups={"female": {"sensitivity": 0.55}, "male": {"sensitivity": 0.7},
                    "other": {"sensitivity": 0.99}},
            small=("other",))
    board = make_board(open_phase, "primary", [("sensitivity", True)])
    rank_and_analyse(open_phase)
    client.force_login(a.user)
    url = reverse("competitions:results", args=[open_phase.challenge.slug, open_phase.slug])
    page = client.get(url, {"board": board.slug, "metric": "sensitivity"}).content.decode()
    assert "sex=male" in page and "0.700" in page
    assert "sex=other" in page and "0.990" not in page
    # Female (as large as male, first by name) is hidden with the small group.
    assert "sex=female" in page and "0.550" not in page
