"""Levelling down and floors on the web: real submissions on the demo's flchain cases, scored by
the worker's code, against an organiser's baseline; flags, floors and change intervals on the
leaderboard, entry and results pages, checked against scikit-learn per group; the
floor_then_primary rule on a real board; and what participants may (not) learn from them."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
from django.urls import reverse
from sklearn.metrics import recall_score

from competitions import services
from competitions.board_cache import board_cache_version
from competitions.models import Phase
from competitions.report.build import report_html
from competitions.selectors import entry_view, leaderboard_table, results_view
from competitions.worker.snapshots import phase_leaderboards_refresh
from scoring.io import read_truth
from scoring.levelling import paired_change_intervals
from tests.competitions.builders import make_board, make_scored, make_teams
from tests.conftest import predictions_csv, score_now, upload
from tests.factories import ParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db

ATTRIBUTES = ("sex", "age_band", "kidney_function")


def _risk(demo_data) -> np.ndarray:
    features = demo_data.test_features
    risk = (features["age"] - 50) / 50 + (features["kappa"] + features["lambda"]) / 10
    return 1 / (1 + np.exp(-(risk.to_numpy() - 1.0) * 3))


def _public_sensitivity(demo_data, scores) -> dict[str, dict[str, float]]:
    """scikit-learn's recall per group of every attribute on the public cases (the oracle)."""
    truth = demo_data.truth.reset_index(drop=True)
    public = (truth["split"] == "public").to_numpy()
    decided = (np.asarray(scores) >= 0.5).astype(int)
    out = {}
    for attribute in ATTRIBUTES:
        groups = truth[attribute].fillna("").replace("", "unknown").astype(str).to_numpy()
        out[attribute] = {
            g: recall_score(truth["label"][public & (groups == g)],
                            decided[public & (groups == g)])
            for g in sorted(set(groups[public]))
        }
    return out


@pytest.fixture
def levelling_field(open_phase, demo_data):
    """An organiser's baseline (the reference) and three entries: one that decides positive
    for 3% of the cases only (the gap closes by being useless), one that under-diagnoses
    women (the gap widens) and one that lifts every group (it meets the floor, set at its
    worst group)."""
    Phase.objects.filter(pk=open_phase.pk).update(bootstrap_resamples=50)
    open_phase.refresh_from_db()
    base = _risk(demo_data)
    female = (demo_data.test_features["sex"] == "female").to_numpy()
    entries = {
        "Baseline": base,
        "Useless": np.where(base >= np.quantile(base, 0.97), base, base * 0.5),
        "Underdiagnosed": np.where(female, base * 0.5, base),
        "Lifter": np.clip(base + 0.2, 0, 1),
    }
    oracle = {name: _public_sensitivity(demo_data, scores) for name, scores in entries.items()}
    # At the Lifter's worst group, as released (3 decimals, rounded down so that it meets it).
    floor = math.floor(1000 * min(min(g.values()) for g in oracle["Lifter"].values())) / 1000
    people, submissions = {}, {}
    for name, scores in entries.items():
        participant = ParticipantFactory(team__challenge=open_phase.challenge, team__name=name)
        submissions[name] = services.submission_create(
            phase=open_phase, user=participant.user,
            upload=upload(predictions_csv(demo_data.test_features["case_id"], scores)),
        )
        people[name] = participant
        score_now(submissions[name])
    open_phase.reference_submission = submissions["Baseline"]
    open_phase.reference_label = "Organisers' baseline"
    open_phase.floors = {"sensitivity": floor}
    open_phase.save()
    board = make_board(open_phase, "floor_then_primary", [("sensitivity", True)],
                       robustness_resamples=0)
    phase_leaderboards_refresh(open_phase)
    return {"phase": open_phase, "board": board, "people": people, "submissions": submissions,
            "oracle": oracle, "floor": floor, "scores": entries}


def test_flags_and_floors_follow_the_definitions_on_scikit_learn_values(levelling_field):
    field = levelling_field
    oracle, floor = field["oracle"], field["floor"]
    table = leaderboard_table(field["board"], split="public", user=field["people"]["Useless"].user)
    rows = {row["team"]: row["levelling"] for row in table["rows"]}
    assert table["levelling"]["reference"] == "Organisers' baseline"
    margin = field["phase"].levelling_margin
    for name, flags in rows.items():
        for attribute in ATTRIBUTES:
            # Flags are decided on the values as released: rounded to the phase's 3 decimals.
            mine = {g: round(v, 3) for g, v in oracle[name][attribute].items()}
            ref = {g: round(v, 3) for g, v in oracle["Baseline"][attribute].items()}
            got = flags["metrics"]["sensitivity"][attribute]
            assert got["groups"] == mine
            assert got["gap"] == round(max(mine.values()) - min(mine.values()), 3)
            expected = (max(mine.values()) - min(mine.values())
                        < max(ref.values()) - min(ref.values()) - margin
                        and max(mine.values()) < max(ref.values()) - margin
                        and min(mine.values()) <= min(ref.values()) + margin)
            assert got["levelled_down"] is expected
            assert got["meets_floor"] is all(v >= floor for v in mine.values())
    assert rows["Useless"]["levelled_down"] is True
    assert any("Levelled down on sensitivity by sex" in t for t in rows["Useless"]["explanations"])
    # Under-diagnosing women widens the gap by sex: not levelled down there (it is across the
    # age bands, where every band lost its women's positives: the definition loop above).
    by_sex = rows["Underdiagnosed"]["metrics"]["sensitivity"]["sex"]
    assert by_sex["levelled_down"] is False and by_sex["gap"] > by_sex["reference_gap"]
    assert rows["Baseline"]["levelled_down"] is False  # against itself: nothing changed
    assert rows["Lifter"]["meets_floors"] is True and rows["Lifter"]["levelled_down"] is False
    assert rows["Underdiagnosed"]["meets_floors"] is False


def test_floor_then_primary_ranks_the_entries_meeting_every_floor_first(levelling_field):
    field = levelling_field
    table = leaderboard_table(field["board"], split="public",
                              user=field["people"]["Lifter"].user)
    overall = {}
    for name, scores in field["scores"].items():
        groups = field["oracle"][name]
        meets = all(round(v, 3) >= field["floor"] for by in groups.values() for v in by.values())
        overall[name] = (meets, _overall_sensitivity(scores))
    # By hand: those meeting every floor by sensitivity, then the others by sensitivity.
    expected = sorted(overall, key=lambda n: (not overall[n][0], -overall[n][1]))
    assert [row["team"] for row in table["rows"]] == expected
    assert expected[0] == "Lifter"
    assert [row["rank"] for row in table["rows"]] == [1, 2, 3, 4]


def _overall_sensitivity(scores) -> float:
    from competitions.demo_data import load_demo_data

    truth = load_demo_data().truth.reset_index(drop=True)
    public = (truth["split"] == "public").to_numpy()
    return recall_score(truth["label"][public], (np.asarray(scores)[public] >= 0.5).astype(int))


def test_pages_show_flags_floors_and_paired_intervals(client, levelling_field, demo_data):
    field = levelling_field
    phase, board = field["phase"], field["board"]
    client.force_login(field["people"]["Underdiagnosed"].user)
    args = [phase.challenge.slug, phase.slug]
    page = client.get(reverse("competitions:leaderboard", args=args),
                      {"board": board.slug}).content.decode()
    assert "▼ levelled down" in page and "meets every floor" in page
    assert "below a floor" in page and "against Organisers&#x27; baseline" in page
    assert f"sensitivity ≥ {field['floor']}" in page

    submission = field["submissions"]["Underdiagnosed"]
    view = entry_view(board, split="public", submission_id=submission.pk,
                      user=field["people"]["Underdiagnosed"].user)
    section = view["levelling"]
    assert section["resamples"] == 200 and section["seed"] == 0
    sex = next(a for a in section["attributes"] if a["attribute"] == "sex")
    female = next(g for g in sex["groups"] if g["group"] == "female")
    # The oracle: paired_change_intervals with scikit-learn's weighted recall on the public
    # cases, the same 200 resamples for entry and reference.
    truth = read_truth(io.BytesIO(demo_data.truth.to_csv(index=False).encode()))
    public = np.asarray(truth.split) == "public"
    label = np.asarray(truth.labels)[public]
    sexes = np.asarray(truth.attributes["sex"]).astype(str)[public]
    order = {c: i for i, c in enumerate(demo_data.test_features["case_id"])}
    index = np.array([order[c] for c in np.asarray(truth.case_ids)[public]])

    def by_sex(scores):
        decided = (np.asarray(scores)[index] >= 0.5).astype(int)

        def statistic(weights):
            return {g: recall_score(label[sexes == g], decided[sexes == g],
                                    sample_weight=weights[sexes == g])
                    for g in ("female", "male")}
        return statistic

    oracle = paired_change_intervals(by_sex(field["scores"]["Underdiagnosed"]),
                                     by_sex(field["scores"]["Baseline"]), int(public.sum()),
                                     resamples=200, seed=0)
    assert female["change"] == round(oracle["female"]["change"], 3)
    assert female["lower"] == round(oracle["female"]["lower"], 3)
    assert female["upper"] == round(oracle["female"]["upper"], 3)
    assert female["worsened"] is True  # women really lost sensitivity against the baseline
    entry_page = client.get(reverse("competitions:entry", args=[*args, submission.pk]),
                            {"board": board.slug}).content.decode()
    assert "95% interval of the change" in entry_page
    assert f"{female['lower']:.3f} – {female['upper']:.3f}" in entry_page

    results = results_view(board, split="public", user=field["people"]["Underdiagnosed"].user)
    panel = next(p for p in results["levelling"]
                 if p["metric"] == "sensitivity" and p["attribute"] == "sex")
    useless = next(r for r in panel["rows"] if r["team"] == "Useless")
    assert useless["gap"] < panel["reference"]["gap"] and useless["levelled"] is True
    assert panel["chart"]["floor"]["value"] == field["floor"] and panel["chart"]["reference"]
    assert any(p["levelled"] for p in panel["chart"]["points"])
    results_page = client.get(reverse("competitions:results", args=args),
                              {"board": board.slug}).content.decode()
    assert "Levelling down: the worst-off group against the gap" in results_page
    assert 'class="levelled"' in results_page and 'class="floor"' in results_page
    # The challenge report carries the same section (the primary board: AUROC ranked, the
    # sensitivity floor checked), with released values only for a participant.
    report = report_html(phase, field["people"]["Underdiagnosed"].user)
    assert '<section id="levelling-down">' in report and 'class="levelling-chart"' in report
    assert "sensitivity by sex: worst group and gap" in report


def test_downloads_and_the_api_carry_the_same_released_flags(client, levelling_field):
    """The leaderboard's JSON and CSV downloads and the API give each entry the flags the page
    shows — from the same released table — and the board's reference, floors and margin."""
    field = levelling_field
    phase, board = field["phase"], field["board"]
    user = field["people"]["Underdiagnosed"].user
    client.force_login(user)
    args = [phase.challenge.slug, phase.slug]
    table = leaderboard_table(board, split="public", user=user)
    expected = {row["team"]: row["levelling"] for row in table["rows"]}
    document = client.get(reverse("competitions:leaderboard-export", args=[*args, "json"]),
                          {"board": board.slug}).json()
    api = client.get(reverse("api:leaderboard", args=[*args, board.slug])).json()
    assert api["entries"] == document["entries"]
    assert document["levelling"] == {
        "reference": "Organisers' baseline", "floors": {"sensitivity": field["floor"]},
        "ceilings": [], "margin": phase.levelling_margin, "metrics": ["sensitivity"],
        "attributes": sorted(ATTRIBUTES)}
    for entry in document["entries"]:
        flags = expected[entry["team"]]
        got = entry["levelling"]
        assert got["meets_floors"] is flags["meets_floors"]
        assert got["levelled_down"] is flags["levelled_down"]
        for attribute in ATTRIBUTES:
            mine = got["metrics"]["sensitivity"][attribute]
            oracle = {g: round(v, 3) for g, v in field["oracle"][entry["team"]][attribute].items()}
            assert mine["groups"] == oracle  # released digits only
            assert mine["meets_floor"] is all(v >= field["floor"] for v in oracle.values())
    assert document["entries"][0]["levelling"]["meets_floors"] is True  # floor_then_primary
    csv_text = client.get(reverse("competitions:leaderboard-export", args=[*args, "csv"]),
                          {"board": board.slug}).content.decode()
    lines = list(csv.DictReader(io.StringIO(csv_text)))
    by_team = {line["team"]: line for line in lines}
    assert by_team["Lifter"]["meets_floors"] == "1"
    assert by_team["Underdiagnosed"]["meets_floors"] == "0"
    assert by_team["Useless"]["levelled_down"] == "1"
    assert "sensitivity by sex" in by_team["Useless"]["levelled_down_on"]
    assert by_team["Baseline"]["levelled_down"] == "0"
    assert by_team["Baseline"]["levelled_down_on"] == ""


def test_a_hidden_score_phase_leaks_no_flag_nor_interval(client, levelling_field):
    """The attack: a participant of a phase whose scores are hidden reads every page and
    download for the levelling flags, the floor checks or a change interval."""
    field = levelling_field
    phase, board = field["phase"], field["board"]
    Phase.objects.filter(pk=phase.pk).update(score_visibility="on_publish")
    client.force_login(field["people"]["Useless"].user)
    args = [phase.challenge.slug, phase.slug]
    pages = [
        client.get(reverse("competitions:leaderboard", args=args), {"board": board.slug}),
        client.get(reverse("competitions:results", args=args), {"board": board.slug}),
        client.get(reverse("competitions:leaderboard-export", args=[*args, "json"]),
                   {"board": board.slug}),
        client.get(reverse("competitions:entry",
                           args=[*args, field["submissions"]["Useless"].pk]),
                   {"board": board.slug}),
    ]
    for response in pages:
        text = response.content.decode()
        for leak in ("levelled down", "meets every floor", "below a floor", "interval of the "
                     "change", "meets_floor", "levelled_down", "reference_groups"):
            assert leak not in text
    assert pages[3].status_code == 404
    phase.refresh_from_db()
    table = leaderboard_table(board, split="public", user=field["people"]["Useless"].user)
    assert table["levelling"] is None and table["rows"] == []


def test_flags_do_not_depend_on_a_withheld_groups_value(open_phase):
    """The attack: two entries alike but for a small group's value (and that of the group
    hidden with it). If the flags differed, a participant would learn which side of the floor
    or of the reference the withheld value lies."""
    a, b, organisers = make_teams(open_phase, 3)
    groups = {"male": {"sensitivity": 0.6}, "female": {"sensitivity": 0.6}}
    baseline = make_scored(open_phase, organisers, auroc=0.8, sensitivity=0.7,
                           groups={**groups, "other": {"sensitivity": 0.7},
                                   "male": {"sensitivity": 0.8}}, small=("other",))
    make_scored(open_phase, a, auroc=0.7, sensitivity=0.6,
                groups={**groups, "other": {"sensitivity": 0.0}}, small=("other",))
    make_scored(open_phase, b, auroc=0.7, sensitivity=0.6,
                groups={**groups, "other": {"sensitivity": 1.0}}, small=("other",))
    open_phase.reference_submission = baseline
    open_phase.floors = {"sensitivity": 0.5}
    open_phase.truth_attributes = ["sex"]
    open_phase.save()
    board = make_board(open_phase, "primary", [("sensitivity", True)])
    phase_leaderboards_refresh(open_phase)
    table = leaderboard_table(board, split="public", user=a.user)
    flags = {row["team"]: row["levelling"] for row in table["rows"]}
    assert flags[a.team.name] == flags[b.team.name]
    sex = flags[a.team.name]["metrics"]["sensitivity"]["sex"]
    # Only male is shown (other is small; female is hidden with it): no gap, no flag.
    assert sex["groups"] == {"male": 0.6} and sex["levelled_down"] is None
    assert sex["meets_floor"] is True


def test_flags_carry_no_digit_beyond_the_released_values(open_phase):
    """The attack: with the full quota, a participant submits entries whose group values sit
    just below and just above a floor (0.6996 and 0.7004 are both shown as 0.700), or just
    inside and outside the reference's gap minus the margin, and reads the flags. Decided on
    the exact values, they would tell the two apart: one bit per flag beyond the digits shown,
    steerable towards any threshold. Decided on the released values, they are equal, and equal
    to what anyone computes from the page's own digits."""
    teams = make_teams(open_phase, 5)
    baseline = make_scored(open_phase, teams[0], auroc=0.8, sensitivity=0.8,
                           groups={"male": {"sensitivity": 0.95},
                                   "female": {"sensitivity": 0.75}})
    entries = {  # (female, male); each shown as (0.700, 0.890)
        "below": (0.6996, 0.8896), "above": (0.7004, 0.8904),
        # The reference's gap is 0.2 and the margin 0.01: levelled down if the gap < 0.19
        # (and the better-off worse, the worse-off not better: true for all four).
        "gap-inside": (0.7004, 0.8898), "gap-outside": (0.6996, 0.8904),
    }
    for team, (female, male) in zip(teams[1:], entries.values(), strict=True):
        make_scored(open_phase, team, auroc=0.7, sensitivity=0.7,
                    groups={"male": {"sensitivity": male}, "female": {"sensitivity": female}})
    open_phase.reference_submission = baseline
    open_phase.floors = {"sensitivity": 0.7}
    open_phase.truth_attributes = ["sex"]
    open_phase.save()
    board = make_board(open_phase, "floor_then_primary", [("sensitivity", True)])
    phase_leaderboards_refresh(open_phase)
    table = leaderboard_table(board, split="public", user=teams[1].user)
    by_team = {row["team"]: row["levelling"] for row in table["rows"]}
    shown = {name: by_team[team.team.name]["metrics"]["sensitivity"]["sex"]
             for name, team in zip(entries, teams[1:], strict=True)}
    for name in entries:
        assert shown[name]["groups"] == {"female": 0.7, "male": 0.89}
        # What the page's digits say: 0.700 meets a floor of 0.7.
        assert shown[name]["meets_floor"] is True, name
    assert shown["below"] == shown["above"]
    assert by_team[teams[1].team.name]["meets_floors"] is by_team[teams[2].team.name][
        "meets_floors"] is True
    # Exact gaps 0.1894 and 0.1908 lie either side of 0.19; the shown gap is 0.190 for both,
    # which is not below 0.19 (decided on the grid of the shown digits, not float noise).
    assert shown["gap-inside"]["gap"] == shown["gap-outside"]["gap"] == 0.19
    assert shown["gap-inside"]["levelled_down"] is shown["gap-outside"]["levelled_down"] is False
    # The organisers see the same flags: one decision, on the digits everyone is shown.
    organiser = UserFactory()
    open_phase.challenge.organisers.add(organiser)
    exact = leaderboard_table(board, split="public", user=organiser)
    assert [row["levelling"]["meets_floors"] for row in exact["rows"]] == [
        row["levelling"]["meets_floors"] for row in table["rows"]]
    assert {row["team"]: row["levelling"]["levelled_down"] for row in exact["rows"]} == {
        team: flags["levelled_down"] for team, flags in by_team.items()}


def test_the_page_cache_changes_with_the_floors_and_the_reference(open_phase):
    (a,) = make_teams(open_phase, 1)
    submission = make_scored(open_phase, a, auroc=0.8, sensitivity=0.7)
    before = board_cache_version(Phase.objects.get(pk=open_phase.pk))
    open_phase.floors = {"sensitivity": 0.5}
    open_phase.save()
    with_floor = board_cache_version(Phase.objects.get(pk=open_phase.pk))
    open_phase.reference_submission = submission
    open_phase.save()
    with_reference = board_cache_version(Phase.objects.get(pk=open_phase.pk))
    assert len({before, with_floor, with_reference}) == 3
