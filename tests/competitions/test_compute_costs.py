"""Fact sheets on the upload form, the cost estimate per submission, and the Compute page.

Oracle: the estimate by hand, power (W) from the ML Emissions Calculator's table (e.g. NVIDIA
A100 PCIe 250 W, T4 70 W) × devices × hours / 1000, and kWh × gCO2e/kWh / 1000; exact up to
floating-point rounding (1e-12).
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from competitions import services
from competitions.costs import submission_costs
from competitions.models import FactSheet, Submission, Team
from tests.conftest import score_now, upload
from tests.factories import ParticipantFactory

pytestmark = pytest.mark.django_db


def _post(client, participant, phase, content: bytes, **fields):
    client.force_login(participant.user)
    url = reverse("competitions:submission-create", args=[phase.challenge.slug, phase.slug])
    return client.post(url, {"file": upload(content), "description": "age + FLC", **fields})


def test_a_fact_sheet_from_the_upload_form_gives_energy_and_co2e(
    client, open_phase, participant, good_predictions
):
    open_phase.challenge.grid_intensity = 400.0
    open_phase.challenge.save()
    response = _post(
        client, participant, open_phase, good_predictions,
        external_data="MIMIC-IV for pre-training", training_hours="10", inference_hours="0.5",
        hardware="nvidia-a100-pcie", devices="2",
    )
    assert response.status_code == 302
    submission = Submission.objects.get(team=participant.team)
    assert submission.fact_sheet.external_data == "MIMIC-IV for pre-training"
    cost = submission_costs([submission.pk])[submission.pk]
    energy = 250 * 2 * (10 + 0.5) / 1000  # 5.25 kWh
    assert cost["energy_kwh"] == pytest.approx(energy, abs=1e-12)
    assert cost["co2e_kg"] == pytest.approx(energy * 400 / 1000, abs=1e-12)
    assert cost["compute_hours"] == pytest.approx(21.0, abs=1e-12)
    page = client.get(
        reverse("competitions:submission", args=[open_phase.challenge.slug, submission.pk])
    ).content.decode()
    assert "5.250 kWh" in page
    assert "2.100 kg CO₂e" in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"training_hours": "3"}, "give the training hours, the inference hours and the hardware"),
        (
            {"training_hours": "-1", "inference_hours": "1", "hardware": "nvidia-t4"},
            "greater than or equal to 0",
        ),
        (
            {"training_hours": "1", "inference_hours": "1", "hardware": "abacus"},
            "Select a valid choice",
        ),
        (
            {"training_hours": "1", "inference_hours": "nan", "hardware": "nvidia-t4"},
            "Enter a number",
        ),
    ],
    ids=["incomplete", "negative", "unknown-hardware", "nan"],
)
def test_a_bad_fact_sheet_is_refused_with_a_message_and_nothing_is_stored(
    client, open_phase, participant, good_predictions, fields, message
):
    response = _post(client, participant, open_phase, good_predictions, **fields)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Submission.objects.filter(team=participant.team).exists()


def test_the_service_enforces_complete_compute_with_a_readable_message(
    open_phase, participant, good_predictions
):
    with pytest.raises(ValidationError, match="together, or none of them"):
        services.submission_create(
            phase=open_phase,
            user=participant.user,
            upload=upload(good_predictions),
            fact_sheet={"hardware": "nvidia-t4", "training_hours": 1.0},
        )
    assert not Submission.objects.exists()


def test_a_submission_without_declared_compute_has_no_cost(open_phase, participant,
                                                            good_predictions):
    submission = services.submission_create(
        phase=open_phase,
        user=participant.user,
        upload=upload(good_predictions),
        fact_sheet={"external_data": "none really"},
    )
    assert FactSheet.objects.get(submission=submission).compute_hours is None
    assert submission_costs([submission.pk]) == {}


def test_the_phases_grid_intensity_overrides_the_challenges_and_none_means_no_co2e(
    open_phase, participant, good_predictions
):
    submission = services.submission_create(
        phase=open_phase,
        user=participant.user,
        upload=upload(good_predictions),
        fact_sheet={"training_hours": 2.0, "inference_hours": 0.0, "hardware": "nvidia-t4"},
    )
    assert submission_costs([submission.pk])[submission.pk]["co2e_kg"] is None
    open_phase.challenge.grid_intensity = 500.0
    open_phase.challenge.save()
    open_phase.grid_intensity = 20.0
    open_phase.save()
    cost = submission_costs([submission.pk])[submission.pk]
    assert cost["energy_kwh"] == pytest.approx(70 * 2 / 1000, abs=1e-12)
    assert cost["co2e_kg"] == pytest.approx(70 * 2 / 1000 * 20 / 1000, abs=1e-12)


def test_the_compute_page_marks_the_pareto_front(client, open_phase, good_predictions, demo_data):
    """Cheap+good and costly+better are on the front; costly+same-as-cheap is not."""
    from tests.conftest import predictions_csv

    features = demo_data.test_features
    weaker = predictions_csv(features["case_id"], (features["age"] / 120).to_numpy())
    declared = {
        "Cheap": (good_predictions, {"training_hours": 1.0, "inference_hours": 0.0,
                                     "hardware": "nvidia-t4"}),
        "Costly": (weaker, {"training_hours": 100.0, "inference_hours": 1.0,
                            "hardware": "nvidia-a100-sxm4"}),
        "Silent": (weaker, None),
    }
    for team, (content, sheet) in declared.items():
        member = ParticipantFactory(team__challenge=open_phase.challenge, team__name=team)
        submission = services.submission_create(
            phase=open_phase, user=member.user, upload=upload(content), fact_sheet=sheet
        )
        score_now(submission)
    client.force_login(member.user)
    page = client.get(
        reverse("competitions:compute", args=[open_phase.challenge.slug, open_phase.slug])
    ).content.decode()
    # Cheap costs less and scores higher (age + FLC beats age alone): Costly is dominated.
    rows = {team: page.split(f'<th scope="row">{team}</th>')[1].split("</tr>")[0]
            for team in declared}
    assert "yes" in rows["Cheap"]
    assert "yes" not in rows["Costly"]
    assert "not declared" in rows["Silent"]
    assert page.count("<circle") == 2
    assert "log scale" in page  # 0.07 kWh against 40.4 kWh


def _team_with_cost(phase, content: bytes, name: str) -> None:
    member = ParticipantFactory(team__challenge=phase.challenge, team__name=name)
    submission = services.submission_create(
        phase=phase,
        user=member.user,
        upload=upload(content),
        fact_sheet={"training_hours": 1.0, "inference_hours": 1.0, "hardware": "nvidia-t4"},
    )
    score_now(submission)


def test_the_compute_page_keeps_the_private_split_from_participants_during_the_phase(
    client, open_phase, participant, good_predictions
):
    _team_with_cost(open_phase, good_predictions, "Solo")
    client.force_login(participant.user)
    url = reverse("competitions:compute", args=[open_phase.challenge.slug, open_phase.slug])
    assert client.get(url + "?split=private").status_code == 404
    assert client.get(url).status_code == 200


def test_the_compute_page_needs_a_fixed_number_of_queries(client, open_phase, good_predictions):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("competitions:compute", args=[open_phase.challenge.slug, open_phase.slug])
    counts = []
    for names in (("One", "Two"), ("Three", "Four", "Five")):
        for name in names:
            _team_with_cost(open_phase, good_predictions, name)
        client.get(url)  # warm: sessions, the default leaderboard
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url).content.decode()
        counts.append(len(queries))
    assert page.count("<circle") == 5
    assert counts[0] == counts[1] <= 16


def test_the_compute_page_hides_scores_and_anonymous_teams_as_the_leaderboard_does(
    client, open_phase, participant, good_predictions
):
    _team_with_cost(open_phase, good_predictions, "Shy")
    Team.objects.filter(name="Shy").update(anonymous=True)
    client.force_login(participant.user)
    url = reverse("competitions:compute", args=[open_phase.challenge.slug, open_phase.slug])
    page = client.get(url).content.decode()
    assert "Shy" not in page
    assert "Anonymous team (1)" in page
    open_phase.score_visibility = "after_end"
    open_phase.save()
    page = client.get(url).content.decode()
    assert "Scores are hidden until the phase ends." in page
    assert "<circle" not in page


def test_the_leaderboard_and_its_exports_carry_the_declared_cost(
    client, open_phase, participant, good_predictions
):
    open_phase.challenge.grid_intensity = 400.0
    open_phase.challenge.save()
    _post(client, participant, open_phase, good_predictions, training_hours="10",
          inference_hours="0.5", hardware="nvidia-a100-pcie", devices="2")
    score_now(Submission.objects.get(team=participant.team))
    args = [open_phase.challenge.slug, open_phase.slug]
    page = client.get(reverse("competitions:leaderboard", args=args)).content.decode()
    assert "Energy (kWh)" in page and "5.25" in page and "2.10" in page
    document = client.get(reverse("competitions:leaderboard-export", args=[*args, "json"])).json()
    assert document["entries"][0]["energy_kwh"] == pytest.approx(5.25, abs=1e-12)
    assert document["entries"][0]["co2e_kg"] == pytest.approx(2.1, abs=1e-12)
