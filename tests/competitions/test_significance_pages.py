"""Which entries differ significantly, on the web: the worker's comparison of each leaderboard's
entries (stored with the snapshot), the tie marks, the exports and the results page's map, on
real scored submissions of the demo data (flchain)."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone
from scipy.stats import rankdata
from statsmodels.stats.multitest import multipletests

from competitions import services
from competitions.models import LeaderboardColumn, LeaderboardSnapshot, Phase, Submission
from competitions.services import phase_default_leaderboard
from competitions.worker import significance
from scoring.compare import compare_entries
from scoring.io import read_predictions, read_truth
from tests.conftest import predictions_csv, rank_and_analyse, score_now, upload
from tests.factories import ParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contest(open_phase, demo_data):
    """Three teams: a model, the same model with a little noise (a difference no test can tell
    from chance) and a model on other features (clearly different)."""
    features = demo_data.test_features
    age = (features["age"].to_numpy() - 50) / 50
    noise = np.random.default_rng(7).normal(0, 0.005, len(age))
    chains = (features["kappa"] + features["lambda"]).to_numpy() / 10
    models = {"Age": age, "Age jittered": age + noise, "Chains": chains}
    for team, risk in models.items():
        participant = ParticipantFactory(team__challenge=open_phase.challenge, team__name=team)
        values = 1 / (1 + np.exp(-(risk - np.median(risk)) * 4))
        submission = services.submission_create(
            phase=open_phase, user=participant.user,
            upload=upload(predictions_csv(features["case_id"], values)),
        )
        score_now(submission)
    return open_phase


def _oracle(phase: Phase, ids: list[int], cases_of) -> dict:
    """``compare_entries`` on the ground truth and the uploaded files, read again from disk."""
    truth = read_truth(io.BytesIO(phase.ground_truth.open("rb").read()), task="binary")
    predictions = [
        read_predictions(io.BytesIO(Submission.objects.get(pk=pk).file.open("rb").read()), truth)
        for pk in ids
    ]
    comparison = compare_entries(
        truth, predictions, [str(pk) for pk in ids], metric="auroc", threshold=phase.threshold,
        cases=cases_of(truth), bootstrap=max(1000, phase.bootstrap_resamples), seed=0,
    )
    return comparison.to_dict()


def _ranked_on(phase: Phase, column_id: str) -> tuple[LeaderboardSnapshot, list[int]]:
    """The primary board ranked on ``column_id`` alone, refreshed: its public snapshot and ids."""
    board = phase_default_leaderboard(phase)
    board.columns.all().delete()
    LeaderboardColumn.objects.create(leaderboard=board, column_id=column_id, ranked=True)
    rank_and_analyse(phase)
    snapshot = LeaderboardSnapshot.objects.get(leaderboard=board, split="public")
    return snapshot, [row["submission"] for row in snapshot.rows]


def _same(stored: list[dict], expected: list[dict]) -> None:
    assert len(stored) == len(expected)
    for mine, theirs in zip(stored, expected, strict=True):
        assert (mine["a"], mine["b"]) == (int(theirs["a"]), int(theirs["b"]))
        assert mine["significant"] == theirs["significant"]
        assert mine.get("reason") == theirs.get("reason")
        for key in ("difference", "p_value", "p_holm"):
            assert mine[key] == pytest.approx(theirs[key], rel=1e-12, abs=1e-15)
        assert mine["ci"] == pytest.approx(theirs["ci"], rel=1e-12)


@pytest.mark.parametrize("split", ["public", "private"])
def test_the_stored_comparison_is_compare_entries_on_the_same_files(contest, split):
    board = phase_default_leaderboard(contest)
    snapshot = LeaderboardSnapshot.objects.get(leaderboard=board, split=split)
    ids = [row["submission"] for row in snapshot.rows]
    stored = snapshot.summary["significance"]
    expected = _oracle(contest, ids, lambda truth: truth.split == split)
    assert stored["column"] == "auroc" and stored["test"] == "delong"
    assert stored["family"] == "all_pairs" and stored["resamples"] == 1000
    assert stored["entries"] == [int(name) for name in expected["entries"]]
    _same(stored["pairs"], expected["pairs"])
    assert stored["family_size"] == 3
    # The tie marks read the same pairs: the entry above against the entry below.
    by_ids = {frozenset((p["a"], p["b"])): p for p in stored["pairs"]}
    _same(stored["adjacent"], [next(p for p in expected["pairs"]
                                    if {p["a"], p["b"]} == {str(above), str(below)})
                               for above, below in zip(ids, ids[1:], strict=False)])
    assert snapshot.rows[0]["tied_with_above"] is None
    for above, row in zip(snapshot.rows, snapshot.rows[1:], strict=False):
        pair = by_ids[frozenset((above["submission"], row["submission"]))]
        assert row["tied_with_above"] is (not pair["significant"])


def test_a_group_column_is_compared_on_the_groups_cases_of_the_split(contest):
    snapshot, ids = _ranked_on(contest, "auroc@sex=female")

    def female_public(truth):
        return (truth.split == "public") & (truth.attributes["sex"] == "female")

    expected = _oracle(contest, ids, female_public)
    assert snapshot.summary["significance"]["column"] == "auroc@sex=female"
    _same(snapshot.summary["significance"]["pairs"], expected["pairs"])


def test_a_worst_group_column_is_compared_on_all_cases_with_a_note(contest):
    snapshot, ids = _ranked_on(contest, "auroc@worst(sex)")
    expected = _oracle(contest, ids, lambda truth: truth.split == "public")
    stored = snapshot.summary["significance"]
    _same(stored["pairs"], expected["pairs"])
    assert "compared on auroc over all cases of the split" in stored["note"]


def test_the_tie_mark_appears_exactly_on_the_tied_rows_with_its_explanation(client, contest):
    url = reverse("competitions:leaderboard", args=[contest.challenge.slug, contest.slug])
    page = client.get(url).content.decode()
    body = page.split("<tbody>", 1)[1]
    rows = body.split("</tr>")
    marked = [("tie-mark" in row) for row in rows if "<td" in row]
    snapshot = LeaderboardSnapshot.objects.get(leaderboard__phase=contest, split="public")
    assert marked == [bool(row["tied_with_above"]) for row in snapshot.rows]
    # The jittered model is tied with the model it jitters; the other model is not.
    assert marked == [False, True, False]
    assert "statistically tied with the entry above" in page
    assert "DeLong&#x27;s test for correlated ROC areas" in page
    assert "Holm-adjusted over 3 pairs, α = 0.05" in page


def test_the_results_page_draws_the_significance_map_and_its_table(client, contest):
    url = reverse("competitions:results", args=[contest.challenge.slug, contest.slug])
    page = client.get(url).content.decode()
    assert 'class="chart significance-map"' in page
    # 3 entries: 6 off-diagonal cells, the pair of the two age models not significant.
    cells = re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="18" height="18" class="(sig-[\w-]+)"',
                       page)
    assert len(cells) == 6 and cells.count("sig-ns") == 2
    assert cells.count("sig-row-3") == 2 and cells.count("sig-col-3") == 2
    table = page.split('class="significance-pairs"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 1 + 3
    assert "Age jittered" in table and "Chains" in table
    assert 'class="chart podium"' in page and "Podium over bootstrap resamples" in page


def test_a_participant_during_the_phase_sees_no_private_comparison(client, contest):
    participant = contest.challenge.participants.select_related("user").first()
    client.force_login(participant.user)
    slug, phase = contest.challenge.slug, contest.slug
    private = LeaderboardSnapshot.objects.get(leaderboard__phase=contest, split="private")
    public = LeaderboardSnapshot.objects.get(leaderboard__phase=contest, split="public")
    secrets = {f"{p['difference']:.3f}" for p in private.summary["significance"]["pairs"]
               if p["difference"]} - {f"{p['difference']:.3f}"
                                      for p in public.summary["significance"]["pairs"]
                                      if p["difference"]}
    assert secrets
    results = reverse("competitions:results", args=[slug, phase])
    assert client.get(results, {"split": "private"}).status_code == 404
    export = reverse("competitions:leaderboard-export", args=[slug, phase, "json"])
    assert client.get(export, {"split": "private"}).status_code == 404
    seen = client.get(results).content.decode() + client.get(export).content.decode()
    assert not any(secret in seen for secret in secrets)
    # After the end, the private comparison is shown like every private number.
    Phase.objects.filter(pk=contest.pk).update(start=timezone.now() - timedelta(days=3),
                                               end=timezone.now() - timedelta(days=1))
    page = client.get(results, {"split": "private"}).content.decode()
    assert any(secret in page for secret in secrets)


def test_the_json_and_csv_exports_carry_the_tie_flags(client, contest):
    slug, phase = contest.challenge.slug, contest.slug
    url = reverse("competitions:leaderboard-export", args=[slug, phase, "json"])
    document = json.loads(client.get(url).content)
    assert [e["tied_with_above"] for e in document["entries"]] == [None, True, False]
    assert document["ties"] == {"column": "auroc", "metric": "auroc", "test": "delong",
                                "alpha": 0.05, "family": "all_pairs", "resamples": 1000,
                                "seed": 0, "note": ""}
    api = reverse("api:leaderboard", args=[slug, phase, document["leaderboard"]])
    assert client.get(api).json() == document
    csv = client.get(reverse("competitions:leaderboard-export",
                             args=[slug, phase, "csv"])).content.decode().splitlines()
    column = csv[0].split(",").index("tied_with_above")
    assert [line.split(",")[column] for line in csv[1:]] == ["", "1", "0"]


def test_scores_hidden_hide_the_tie_marks_and_the_map(client, contest):
    Phase.objects.filter(pk=contest.pk).update(score_visibility="after_end")
    client.force_login(UserFactory())
    slug, phase = contest.challenge.slug, contest.slug
    page = client.get(reverse("competitions:results", args=[slug, phase])).content.decode()
    assert "significance-map" not in page
    url = reverse("competitions:leaderboard-export", args=[slug, phase, "json"])
    assert json.loads(client.get(url).content)["entries"] == []


@pytest.mark.parametrize("window", [2, 3])
def test_a_large_field_marks_ties_from_the_adjacent_pairs_and_maps_the_first_entries(
    contest, monkeypatch, window
):
    monkeypatch.setattr(significance, "MAX_ALL_PAIRS", 2)
    monkeypatch.setattr(significance, "MAP_ENTRIES", window)
    rank_and_analyse(contest)
    snapshot = LeaderboardSnapshot.objects.get(leaderboard__phase=contest, split="public")
    ids = [row["submission"] for row in snapshot.rows]
    stored = snapshot.summary["significance"]
    assert stored["family"] == "adjacent" and stored["entries"] == ids[:window]
    assert stored["family_size"] == len(ids) - 1
    public = lambda truth: truth.split == "public"  # noqa: E731
    _same(stored["pairs"], _oracle(contest, ids[:window], public)["pairs"])
    # Each neighbouring pair tested alone, then Holm over the S - 1 neighbouring pairs.
    raw = [_oracle(contest, ids[k:k + 2], public)["pairs"][0] for k in range(len(ids) - 1)]
    tested = [k for k, pair in enumerate(raw) if pair["p_value"] is not None]
    reject, adjusted, _, _ = multipletests([raw[k]["p_value"] for k in tested], method="holm")
    for k, pair in enumerate(stored["adjacent"]):
        if k in tested:
            position = tested.index(k)
            assert pair["p_holm"] == pytest.approx(adjusted[position], rel=1e-12)
            assert pair["significant"] == bool(reject[position])
        else:
            assert pair["p_holm"] is None and not pair["significant"]
    assert [row["tied_with_above"] for row in snapshot.rows[1:]] == [
        not pair["significant"] for pair in stored["adjacent"]
    ]


def test_a_per_case_metric_gets_challengers_podium_of_places_on_each_case(client, contest):
    snapshot, ids = _ranked_on(contest, "brier")
    stored = snapshot.summary["significance"]
    assert stored["test"] == "wilcoxon"
    truth = read_truth(io.BytesIO(contest.ground_truth.open("rb").read()), task="binary")
    public = truth.split == "public"
    losses = np.array([
        (read_predictions(io.BytesIO(Submission.objects.get(pk=pk).file.open("rb").read()),
                          truth).scores[public] - truth.labels[public]) ** 2
        for pk in ids
    ])
    # Ranks per case, lower loss first, ties sharing the best place (scipy's "min").
    places = rankdata(losses, method="min", axis=0)
    expected = {str(pk): {str(k): int((places[i] == k).sum()) for k in (1, 2, 3)
                          if (places[i] == k).any()} for i, pk in enumerate(ids)}
    assert stored["podium"] == {"cases": int(public.sum()), "places": expected}
    url = reverse("competitions:results", args=[contest.challenge.slug, contest.slug])
    page = client.get(url).content.decode()
    assert "Podium: places on each test case" in page and 'class="podium-places"' in page


def test_only_the_maps_pairs_and_the_neighbours_are_stored_with_the_whole_familys_holm(
    contest, monkeypatch
):
    monkeypatch.setattr(significance, "MAP_ENTRIES", 2)
    rank_and_analyse(contest)
    snapshot = LeaderboardSnapshot.objects.get(leaderboard__phase=contest, split="public")
    ids = [row["submission"] for row in snapshot.rows]
    stored = snapshot.summary["significance"]
    expected = _oracle(contest, ids, lambda truth: truth.split == "public")["pairs"]
    assert stored["family"] == "all_pairs" and stored["family_size"] == 3
    assert stored["entries"] == ids[:2]
    _same(stored["pairs"], [p for p in expected if {p["a"], p["b"]} == {str(i) for i in ids[:2]}])
    assert len(stored["adjacent"]) == 2
