"""The Results page's sensitivity panel: how the ranking moves under the other rules, each ranked
column alone and the median over cases, stored by the worker and released to participants."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse
from scipy.stats import kendalltau, rankdata

from competitions.models import LeaderboardSnapshot
from competitions.selectors import leaderboards, results_view
from tests.competitions.builders import make_board, make_scored, make_teams
from tests.conftest import rank_and_analyse

pytestmark = pytest.mark.django_db


def _row(view, label):
    return next(row for row in view["panel"]["rows"] if row["label"] == label)


def _three_teams(phase):
    a, b, c = make_teams(phase, 3)
    make_scored(phase, a, auroc=0.9, sensitivity=0.5)
    make_scored(phase, b, auroc=0.8, sensitivity=0.7)
    make_scored(phase, c, auroc=0.7, sensitivity=0.7)
    return a, b, c


def test_the_panel_names_each_variants_winner_and_tau_against_the_official_ranking(open_phase):
    a, b, c = _three_teams(open_phase)
    board = make_board(open_phase, "mean_rank", [("auroc", True), ("sensitivity", True)])
    rank_and_analyse(open_phase)
    view = results_view(board, split="public", user=a.user)
    panel = view["panel"]
    # Mean ranks a 2, b 1.5, c 2: b wins officially.
    assert panel["winners"] == [b.team.name]
    assert [row["label"] for row in panel["rows"]] == [
        "Median rank over the ranked columns", "Pareto layers over the ranked columns",
        "auroc alone", "sensitivity alone",
    ]
    official = [2, 1, 2]
    pareto = _row(view, "Pareto layers over the ranked columns")
    assert pareto["winners"] == [a.team.name, b.team.name] and pareto["changed"]
    assert pareto["tau"] == pytest.approx(kendalltau([1, 1, 3], official).statistic, abs=1e-12)
    auroc = _row(view, "auroc alone")
    assert auroc["winners"] == [a.team.name] and auroc["changed"]
    assert auroc["tau"] == pytest.approx(kendalltau([1, 2, 3], official).statistic, abs=1e-12)
    assert not _row(view, "Median rank over the ranked columns")["changed"]
    assert panel["changes"] == 3
    # The what-if table is the panel's "alone" rows.
    assert [(w["column"], w["winners"]) for w in view["what_if"]] == [
        ("auroc", [a.team.name]), ("sensitivity", [b.team.name, c.team.name]),
    ]


def test_the_results_page_draws_the_panels_table_and_chart(client, open_phase):
    a, _b, _c = _three_teams(open_phase)
    board = make_board(open_phase, "mean_rank", [("auroc", True), ("sensitivity", True)])
    rank_and_analyse(open_phase)
    client.force_login(a.user)
    url = reverse("competitions:results", args=[open_phase.challenge.slug, open_phase.slug])
    page = client.get(url, {"board": board.slug}).content.decode()
    assert "How the ranking moves" in page
    assert 'aria-labelledby="sensitivity-caption"' in page and "bar-changed" in page
    assert "auroc alone" in page and "<td>0.000</td>" in page  # tau of [1, 2, 3], [2, 1, 2]


def test_participants_see_no_tau_the_release_step_withholds(client, open_phase, monkeypatch):
    a, _b, _c = _three_teams(open_phase)
    board = make_board(open_phase, "mean_rank", [("auroc", True), ("sensitivity", True)])
    rank_and_analyse(open_phase)
    original = leaderboards.release_cell

    def withhold_panel(cell, *, viewer):
        if "kendall_tau" in cell or "ranks" in cell:
            return dict.fromkeys(cell) | {"reason": "withheld"}
        return original(cell, viewer=viewer)

    monkeypatch.setattr(leaderboards, "release_cell", withhold_panel)
    view = results_view(board, split="public", user=a.user)
    assert len(view["panel"]["rows"]) == 4
    assert all(row["tau"] is None for row in view["panel"]["rows"])
    assert all("width" not in bar for bar in view["panel"]["chart"]["bars"])


def test_a_per_case_column_gets_the_median_and_rank_then_aggregate_variants(field, demo_data):
    phase, scores = field
    board = make_board(phase, "mean_rank", [("brier", True), ("auroc", True)])
    rank_and_analyse(phase)
    snapshot = LeaderboardSnapshot.objects.get(leaderboard=board, split="public")
    teams = {str(row["team"]): row for row in snapshot.rows}
    names = {key: phase.challenge.teams.get(pk=int(key)).name for key in teams}
    panel = snapshot.summary["panel"]
    kinds = [(v["kind"], v["rule"], v["column"]) for v in panel["variants"]]
    assert ("rule", "rank_then_aggregate", "brier") in kinds
    assert ("median", "mean_rank", "brier") in kinds
    # Oracle: numpy's median squared error on the public cases, ranked with scipy with AUROC.
    truth = demo_data.truth
    public = (truth["split"] == "public").to_numpy()
    labels = truth["label"].to_numpy()
    order = list(teams)
    median = [np.median((np.round(scores[names[t]], 6) - labels)[public] ** 2) for t in order]
    auroc = [teams[t]["values"]["auroc"]["value"] for t in order]
    expected = rankdata(rankdata(median, method="min") + rankdata(-np.array(auroc),
                                                                  method="min"), method="min")
    variant = next(v for v in panel["variants"] if v["kind"] == "median")
    assert [variant["ranks"][t] for t in order] == expected.astype(int).tolist()
    official = [teams[t]["rank"] for t in order]
    assert [panel["ranks"][t] for t in order] == official
