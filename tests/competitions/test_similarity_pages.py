"""The field's similarity: computed from the counting submissions, shown under visibility rules."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from competitions import services
from competitions.models import Phase, SimilarityReport
from competitions.selectors import map_points
from competitions.similarity import phase_similarity_compute
from tests.conftest import predictions_csv, score_now, upload
from tests.factories import ParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def field(open_phase, demo_data):
    """Three teams: two near-identical models and one that uses other features."""
    features = demo_data.test_features
    age = (features["age"].to_numpy() - 50) / 50
    chains = (features["kappa"] + features["lambda"]).to_numpy() / 10
    models = {"Twin A": age, "Twin B": age + 1e-4, "Chains": chains}
    scores = {}
    for team, risk in models.items():
        participant = ParticipantFactory(team__challenge=open_phase.challenge, team__name=team)
        values = 1 / (1 + np.exp(-(risk - np.median(risk)) * 4))
        scores[team] = values
        submission = services.submission_create(
            phase=open_phase,
            user=participant.user,
            upload=upload(predictions_csv(features["case_id"], values)),
        )
        score_now(submission)
    return open_phase, scores


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
    agreement = public_report.report["measures"]["agreement"]
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
    female = next(g for g in report.report["groups"] if g["group"] == "female")
    assert female["measures"]["agreement"][a][b] == pytest.approx(
        float(np.mean(decisions_a == decisions_b)), abs=1e-12
    )
    assert f"{female['measures']['agreement'][a][b]:.3f}" in page


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
