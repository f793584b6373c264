"""The metric glossary and what the pages say about the metrics they show: every metric name
links to its entry, the decision threshold stands beside the metrics it moves, the rule's score
and the rank intervals are named, the tie rule is said once, and an ECE outside its own
interval is marked and explained. Submissions are scored for real on the demo data (flchain)."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest
from django.urls import reverse

from competitions import services
from competitions.models import Leaderboard
from competitions.selectors import leaderboard_table
from scoring.io import TASKS
from scoring.registry import metrics_for
from tests.competitions.builders import make_board
from tests.conftest import predictions_csv, rank_and_analyse, score_now, upload
from tests.factories import ParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db

COLUMNS = [("auroc", True), ("ece", False), ("sensitivity", False)]


def _text(fragment: str) -> str:
    """What a reader sees of some HTML: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _squeezed(text: str) -> str:
    return "".join(text.split())


def _entry(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    return page[start : page.index("</article>", start)]


def _calibrated_scores(demo_data) -> np.ndarray:
    """Each case's score is the public cases' death rate in its age decile: calibrated on the
    public cases, so their ECE is 0 (up to the 6 decimals of the file), while every bootstrap
    resample shows some miscalibration."""
    truth = demo_data.truth.merge(demo_data.test_features[["case_id", "age"]], on="case_id")
    public = truth[truth["split"] == "public"]
    edges = np.unique(np.quantile(public["age"], np.linspace(0, 1, 11)))
    edges[0], edges[-1] = -np.inf, np.inf
    rates = public.groupby(pd.cut(public["age"], edges), observed=True)["label"].mean()
    ages = demo_data.test_features["age"]
    return rates.loc[pd.cut(ages, edges)].to_numpy()


@pytest.fixture
def scored_phase(open_phase, demo_data, good_predictions):
    """Two teams scored by the worker's code at a threshold of 0.35: a calibrated one and a
    plausible risk model, on boards that show ECE beside a decision metric."""
    open_phase.threshold = 0.35
    open_phase.bootstrap_resamples = 200
    open_phase.save()
    Leaderboard.objects.filter(phase=open_phase).update(robustness_resamples=100)
    calibrated = ParticipantFactory(team__challenge=open_phase.challenge, team__name="Calibrated")
    plain = ParticipantFactory(team__challenge=open_phase.challenge, team__name="Plain")
    files = {calibrated: predictions_csv(demo_data.test_features["case_id"],
                                         _calibrated_scores(demo_data)),
             plain: good_predictions}
    submissions = {}
    for participant, content in files.items():
        submissions[participant.team.name] = services.submission_create(
            phase=open_phase, user=participant.user, upload=upload(content))
    board = make_board(open_phase, "primary", COLUMNS, robustness_resamples=100)
    for submission in submissions.values():
        score_now(submission)
        submission.refresh_from_db()
    return open_phase, board, submissions, calibrated


def _page(client, name, phase, board=None, **query) -> str:
    url = reverse(f"competitions:{name}", args=[phase.challenge.slug, phase.slug])
    if board is not None:
        query["board"] = board.slug
    return client.get(url, query).content.decode()


def _submission_page(client, participant, submission) -> str:
    client.force_login(participant.user)
    url = reverse("competitions:submission",
                  args=[submission.phase.challenge.slug, submission.pk])
    return client.get(url).content.decode()


def test_the_glossary_lists_every_metric_of_every_task_as_the_registry_defines_it(client):
    page = client.get(reverse("competitions:glossary")).content.decode()
    for task in TASKS:
        for metric in metrics_for(task):
            entry = _entry(page, f"metric-{task}-{metric.id}")
            seen = _text(entry)
            assert f'data-direction="{metric.direction}"' in entry
            assert ("higher is better" if metric.higher_is_better else "lower is better") in seen
            # Code spans are tags of their own: compare the words, not the spaces around them.
            assert _squeezed(metric.formula.replace("`", "")) in _squeezed(seen)
            assert (metric.undefined or "never") in seen
            assert ("decision threshold" in seen) == metric.uses_decisions
    ece = _text(_entry(page, "metric-binary-ece"))
    assert "can lie outside its own 95% interval" in ece and "biased upward" in ece
    assert "can lie outside" not in _text(_entry(page, "metric-binary-auroc"))


def test_every_page_links_its_metric_names_to_their_glossary_entries(client, scored_phase):
    phase, board, submissions, calibrated = scored_phase
    glossary = client.get(reverse("competitions:glossary")).content.decode()

    def links(page: str) -> set[str]:
        found = set(re.findall(r'href="/metrics/#(metric-[\w.-]+)"', page))
        assert all(f'id="{anchor}"' in glossary for anchor in found)
        return found

    wanted = {f"metric-binary-{metric}" for metric, _ranked in COLUMNS}
    assert links(_page(client, "leaderboard", phase, board)) >= wanted
    # The results page names the ranked columns (what-if, agreement) and the heatmap's metric.
    assert "metric-binary-auroc" in links(_page(client, "results", phase, board))
    entry = reverse("competitions:entry",
                    args=[phase.challenge.slug, phase.slug, submissions["Plain"].pk])
    assert "metric-binary-auroc" in links(client.get(entry, {"board": board.slug}).content
                                          .decode())
    shown = links(_submission_page(client, calibrated, submissions["Calibrated"]))
    assert shown == {f"metric-binary-{m}" for m in submissions["Calibrated"]
                     .result["public"]["overall"]}


def test_pages_with_decision_metrics_show_the_threshold_the_scores_were_decided_at(
    client, scored_phase
):
    phase, board, submissions, calibrated = scored_phase
    said = "Decisions at score ≥ 0.35: for sensitivity, a case counts as decided positive"
    assert said in html.unescape(_page(client, "leaderboard", phase, board))
    assert said in html.unescape(_page(client, "results", phase, board))
    submission_page = html.unescape(_submission_page(client, calibrated,
                                                     submissions["Calibrated"]))
    assert "Decisions at score ≥ 0.35: for accuracy, balanced_accuracy, sensitivity" in (
        submission_page)
    # A board of scores alone has nothing the threshold moves: no sentence.
    scores_only = make_board(phase, "mean_rank", [("auroc", True), ("brier", True)])
    rank_and_analyse(phase)
    assert "Decisions at score" not in _page(client, "leaderboard", phase, scores_only)


def test_a_mean_rank_board_calls_its_score_the_mean_rank(client, scored_phase):
    phase, _board, _submissions, _calibrated = scored_phase
    board = make_board(phase, "mean_rank", [("auroc", True), ("brier", True)])
    rank_and_analyse(phase)
    page = _page(client, "leaderboard", phase, board)
    assert '<th scope="col" data-sort="number">Mean rank</th>' in page
    assert ">Score</th>" not in page


def test_the_ranking_explanation_says_the_tie_rule_once(client, scored_phase):
    phase, board, _submissions, _calibrated = scored_phase
    explanation = _text(_page(client, "leaderboard", phase, board).split(
        '<p class="explain">', 1)[1].split("</p>", 1)[0])
    assert explanation.count("same value") == 1
    assert "share the best rank (1, 2, 2, 4)" in explanation


def test_rank_intervals_are_explained_with_the_number_of_resamples(client, scored_phase):
    phase, board, _submissions, _calibrated = scored_phase
    table = leaderboard_table(board, split="public", user=UserFactory())
    assert all(row["rank_interval"] for row in table["rows"])
    page = _text(_page(client, "leaderboard", phase, board))
    low, high = table["rows"][0]["rank_interval"]
    assert f"[{low}–{high}]" in page
    assert ("[a–b] under a rank: its 95% interval. The cases were resampled 100 times "
            "(bootstrap)") in page


def test_an_ece_outside_its_own_interval_is_marked_and_explained(client, scored_phase):
    phase, board, submissions, calibrated = scored_phase
    ece = submissions["Calibrated"].result["public"]["overall"]["ece"]
    assert ece["value"] < 5e-7 and ece["ci"][0] > 1e-3  # the calibrated entry's own numbers
    note = "For ece the value can lie outside its own interval (marked †)"
    submission_page = _submission_page(client, calibrated, submissions["Calibrated"])
    row = submission_page[submission_page.index('#metric-binary-ece"'):]
    row = row[: row.index("</tr>")]
    assert "0.000" in row and 'class="interval-mark"' in row
    assert note in html.unescape(submission_page)
    assert "biased upward in small samples" in html.unescape(submission_page)
    leaderboard = _page(client, "leaderboard", phase, board)
    assert note in html.unescape(leaderboard)
    calibrated_row = leaderboard[leaderboard.index(">Calibrated</a>"):]
    calibrated_row = calibrated_row[: calibrated_row.index("</tr>")]
    assert calibrated_row.count('class="interval-mark"') == 1
    # A board without ECE has no such note.
    scores_only = make_board(phase, "median_rank", [("auroc", True), ("brier", True)])
    rank_and_analyse(phase)
    assert "(marked †)" not in _page(client, "leaderboard", phase, scores_only)
