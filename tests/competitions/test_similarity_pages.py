"""The field's similarity: computed from the counting submissions, shown under visibility rules."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

import scoring.similarity as scoring_similarity
from competitions import services
from competitions.models import Phase, SimilarityReport, Team
from competitions.presentation.charts import map_points
from competitions.similarity_arrays import similarity_arrays_read
from competitions.worker.similarity import phase_similarity_compute
from tests.conftest import predictions_csv, score_now, upload
from tests.factories import ParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_agreement_of_two_teams_matches_a_direct_count(field, demo_data):
    phase, scores = field
    public_report = phase_similarity_compute(phase=phase)[0]
    assert public_report.split == "public"
    teams = [entry["team"] for entry in public_report.entries]
    assert sorted(teams) == ["Chains", "Twin A", "Twin B"]
    public = (demo_data.truth["split"] == "public").to_numpy()
    a, b = teams.index("Twin A"), teams.index("Chains")
    decisions_a = np.round(scores["Twin A"], 6)[public] >= phase.threshold
    decisions_b = np.round(scores["Chains"], 6)[public] >= phase.threshold
    expected = float(np.mean(decisions_a == decisions_b))
    agreement = similarity_arrays_read(public_report).measures["agreement"]
    assert agreement[a][b] == pytest.approx(expected, abs=1e-12)
    flagged = {
        tuple(sorted((teams[p["first"]], teams[p["second"]]))) for p in public_report.flagged
    }
    assert flagged == {("Twin A", "Twin B")}


def _page(client, user, phase) -> str:
    client.force_login(user)
    url = reverse("competitions:similarity", args=[phase.challenge.slug, phase.slug])
    return client.get(url).content.decode()


def test_participants_see_label_measures_only_after_the_phase_ends(client, field):
    phase, _scores = field
    phase_similarity_compute(phase=phase)
    participant = phase.challenge.participants.first()
    page = _page(client, participant.user, phase)
    assert "<h3>agreement</h3>" in page
    assert "<h3>error_consistency</h3>" not in page
    assert "Pairs to review" not in page
    Phase.objects.filter(pk=phase.pk).update(
        start=timezone.now() - timedelta(days=3), end=timezone.now() - timedelta(days=1)
    )
    page = _page(client, participant.user, phase)
    assert "<h3>error_consistency</h3>" in page
    assert "Mean pairwise error consistency" in page


def test_organisers_see_flagged_pairs_during_the_phase(client, field):
    phase, _scores = field
    phase_similarity_compute(phase=phase)
    organiser = UserFactory(is_staff=True)
    phase.challenge.organisers.add(organiser)
    page = _page(client, organiser, phase)
    assert "Pairs to review" in page
    assert "Twin A ↔ Twin B" in page or "Twin B ↔ Twin A" in page
    assert "<h3>error_consistency</h3>" in page


def test_recomputing_an_unchanged_field_adds_no_point_to_the_trend(field):
    phase, _scores = field
    phase_similarity_compute(phase=phase)
    phase_similarity_compute(phase=phase)
    assert SimilarityReport.objects.filter(phase=phase, split="public").count() == 1


def test_organisers_see_the_map_and_can_compare_within_a_subgroup(client, field, demo_data):
    phase, scores = field
    report = phase_similarity_compute(phase=phase)[0]
    organiser = UserFactory(is_staff=True)
    phase.challenge.organisers.add(organiser)
    page = _page(client, organiser, phase)
    assert page.count("<circle") == 3
    assert '<option value="sex=female">' in page
    client.force_login(organiser)
    url = reverse("competitions:similarity", args=[phase.challenge.slug, phase.slug])
    page = client.get(url + "?group=sex=female").content.decode()
    assert "Within sex=female only." in page
    teams = [entry["team"] for entry in report.entries]
    a, b = teams.index("Twin A"), teams.index("Chains")
    cases = ((demo_data.truth["split"] == "public") & (demo_data.truth["sex"] == "female"))
    cases = cases.to_numpy()
    decisions_a = np.round(scores["Twin A"], 6)[cases] >= phase.threshold
    decisions_b = np.round(scores["Chains"], 6)[cases] >= phase.threshold
    female = next(g for g in similarity_arrays_read(report).groups if g.group == "female")
    assert female.measures["agreement"][a][b] == pytest.approx(
        float(np.mean(decisions_a == decisions_b)), abs=1e-12
    )
    assert f"{female.measures['agreement'][a][b]:.3f}" in page


def test_participants_get_neither_map_nor_subgroups_during_the_phase(client, field):
    phase, _scores = field
    phase_similarity_compute(phase=phase)
    participant = phase.challenge.participants.first()
    page = _page(client, participant.user, phase)
    assert "<circle" not in page
    assert "Compare within a subgroup" not in page
    client.force_login(participant.user)
    url = reverse("competitions:similarity", args=[phase.challenge.slug, phase.slug])
    page = client.get(url + "?group=sex=female").content.decode()
    assert "Within sex=female" not in page


def test_the_map_keeps_the_proportions_of_the_distances():
    points = map_points([[0.0, 0.0], [4.0, 0.0], [0.0, 1.0]], ["a", "b", "c"])
    xy = np.array([[p["x"], p["y"]] for p in points])
    horizontal = np.linalg.norm(xy[1] - xy[0])
    vertical = np.linalg.norm(xy[2] - xy[0])
    assert horizontal / vertical == pytest.approx(4.0, rel=0.01)
    assert (xy >= 0).all() and (xy <= 360).all()


def _add_team(phase, demo_data, name: str, risk) -> None:
    participant = ParticipantFactory(team__challenge=phase.challenge, team__name=name)
    values = 1 / (1 + np.exp(-(risk - np.median(risk)) * 4))
    submission = services.submission_create(
        phase=phase,
        user=participant.user,
        upload=upload(predictions_csv(demo_data.test_features["case_id"], values)),
    )
    score_now(submission)


def test_a_new_submission_computes_one_row_and_equals_the_full_recompute(
    field, demo_data, monkeypatch
):
    phase, _scores = field
    first = phase_similarity_compute(phase=phase)[0]
    assert first.rows_computed == 3
    creatinine = demo_data.test_features["creatinine"].fillna(1.0).to_numpy()
    _add_team(phase, demo_data, "Kidneys", creatinine)
    computed = []
    original = scoring_similarity.similarity_row

    def counting_row(*args, **kwargs):
        computed.append(args[3])
        return original(*args, **kwargs)

    monkeypatch.setattr(scoring_similarity, "similarity_row", counting_row)
    reports = phase_similarity_compute(phase=phase)
    assert [report.split for report in reports] == ["public", "private"]
    expected_rows = []
    for report in reports:
        assert report.rows_computed == 1
        new = [entry["team"] for entry in report.entries].index("Kidneys")
        # One row overall and one per subgroup, on each split.
        expected_rows += [new] * (1 + len(report.groups))
    assert computed == expected_rows
    # Read before the full recompute, which refreshes the same row with a new file.
    updated = similarity_arrays_read(reports[0])
    recomputed = phase_similarity_compute(phase=phase, full=True)[0]
    assert recomputed.rows_computed == 4
    full = similarity_arrays_read(recomputed)
    pairs = [(updated.measures, full.measures)] + [
        (got.measures, expected.measures)
        for got, expected in zip(updated.groups, full.groups, strict=True)
    ]
    assert len(pairs) == 1 + len(reports[0].groups) > 1
    for got, expected in pairs:
        assert set(got) == set(expected) == set(scoring_similarity.MEASURES)
        for name, matrix in expected.items():
            np.testing.assert_allclose(got[name], matrix, rtol=0, atol=1e-12, equal_nan=True)


def test_the_flag_threshold_is_set_per_phase_and_shown(client, field):
    phase, _scores = field
    phase.similarity_flag_threshold = -1.0
    phase.save()
    report = phase_similarity_compute(phase=phase)[0]
    assert len(report.flagged) == 3  # every pair of different teams
    assert report.flag_threshold == -1.0
    organiser = UserFactory(is_staff=True)
    phase.challenge.organisers.add(organiser)
    assert "error consistency ≥ -1.000 are flagged" in _page(client, organiser, phase)


def test_the_ensembles_are_stored_with_the_report_and_match_scikit_learn(field, demo_data):
    from sklearn.metrics import roc_auc_score

    phase, scores = field
    report = phase_similarity_compute(phase=phase)[0]
    public = (demo_data.truth["split"] == "public").to_numpy()
    labels = demo_data.truth["label"].to_numpy()[public]
    rounded = {team: np.round(values, 6)[public] for team, values in scores.items()}
    single = {team: roc_auc_score(labels, values) for team, values in rounded.items()}
    top = sorted(single, key=single.get, reverse=True)[:3]
    mean = np.mean([rounded[team] for team in top], axis=0)
    ensembles = {e["name"]: e for e in report.ensembles["ensembles"]}
    assert set(ensembles) == {"mean_top3", "vote_top3", "diverse3"}
    assert ensembles["mean_top3"]["members"] == top
    # Tolerance 1e-9: both are exact rank statistics on the same float64 scores.
    assert ensembles["mean_top3"]["metrics"]["auroc"] == pytest.approx(
        roc_auc_score(labels, mean), abs=1e-9
    )
    assert ensembles["mean_top3"]["gain_over_best"]["auroc"] == pytest.approx(
        roc_auc_score(labels, mean) - max(single.values()), abs=1e-9
    )


def test_participants_see_the_ensembles_only_after_the_phase_ends(client, field):
    phase, _scores = field
    phase_similarity_compute(phase=phase)
    participant = phase.challenge.participants.first()
    assert "Ensembles of the field" not in _page(client, participant.user, phase)
    assert "mean_top3" not in _page(client, participant.user, phase)
    organiser = UserFactory(is_staff=True)
    phase.challenge.organisers.add(organiser)
    assert "mean_top3" in _page(client, organiser, phase)
    Phase.objects.filter(pk=phase.pk).update(
        start=timezone.now() - timedelta(days=3), end=timezone.now() - timedelta(days=1)
    )
    page = _page(client, participant.user, phase)
    assert "Ensembles of the field" in page
    assert "diverse3" in page


def test_after_the_end_participants_still_miss_ensembles_while_scores_await_publication(
    client, field
):
    phase, _scores = field
    phase_similarity_compute(phase=phase)
    Phase.objects.filter(pk=phase.pk).update(
        start=timezone.now() - timedelta(days=3),
        end=timezone.now() - timedelta(days=1),
        score_visibility="on_publish",
    )
    participant = phase.challenge.participants.first()
    page = _page(client, participant.user, phase)
    assert "<h3>error_consistency</h3>" in page
    assert "Ensembles of the field" not in page


def test_anonymous_teams_are_masked_on_the_similarity_page(client, field):
    phase, _scores = field
    phase_similarity_compute(phase=phase)
    Team.objects.filter(name="Chains").update(anonymous=True)
    viewer = phase.challenge.participants.exclude(team__name="Chains").first()
    page = _page(client, viewer.user, phase)
    assert "Chains" not in page
    assert "Anonymous team (1)" in page
    member = phase.challenge.participants.get(team__name="Chains")
    assert "Chains" in _page(client, member.user, phase)
