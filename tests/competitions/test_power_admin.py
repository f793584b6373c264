"""Power at design time: the admin's ground-truth page says, per split and group, how many
positives (negatives) detect the phase's difference, and the leaderboard warns when it ranks on
a group that cannot."""

from __future__ import annotations

import math

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from competitions import services
from competitions.models import Phase
from tests.competitions.builders import make_board, make_teams, phase_form
from tests.factories import ChallengeFactory, PhaseFactory

pytestmark = pytest.mark.django_db


def _form(challenge, truth: bytes | None, **settings) -> dict:
    return phase_form(challenge, truth, **settings)


def _needed(baseline: float, difference: float) -> int:
    """statsmodels' own answer, the oracle of scoring.power."""
    effect = proportion_effectsize(baseline + difference, baseline)
    return math.ceil(NormalIndPower().solve_power(effect_size=effect, alpha=0.05, power=0.8))


def _counts(demo_data, split: str, sex: str) -> tuple[int, int]:
    truth = demo_data.truth
    rows = truth[(truth["split"] == split) & (truth["sex"] == sex)]
    return int(rows["label"].sum()), int((rows["label"] == 0).sum())


def test_the_phase_page_shows_each_groups_power_with_the_phases_settings(
    client, organiser, truth_csv, demo_data
):
    challenge = ChallengeFactory()
    challenge.organisers.add(organiser)
    client.force_login(organiser)
    response = client.post(reverse("admin:competitions_phase_add"),
                           _form(challenge, truth_csv, power_difference=0.1))
    assert response.status_code == 302, response.content.decode()[:3000]
    phase = Phase.objects.get(slug="final")
    power = phase.truth_report["power"]
    assert (power["baseline"], power["difference"]) == (0.8, 0.1)
    female = next(g for a in power["splits"]["private"]["attributes"] if a["attribute"] == "sex"
                  for g in a["groups"] if g["group"] == "female")
    positives, negatives = _counts(demo_data, "private", "female")
    assert (female["positives"], female["negatives"]) == (positives, negatives)
    assert female["sensitivity"]["needed"] == _needed(0.8, 0.1)
    assert female["sensitivity"]["enough"] == (positives >= _needed(0.8, 0.1))
    assert female["specificity"]["have"] == negatives
    page = client.get(reverse("admin:competitions_phase_change", args=[phase.pk])).content
    page = page.decode()
    assert "Power at design time" in page
    assert "a paired comparison" in page and "need fewer cases" in page
    assert "Private cases (the final ranking)" in page and "Public cases" in page
    assert f"<td>{_needed(0.8, 0.1)}</td>" in page
    assert "no: cannot detect 0.1" in page  # the public females' positives are too few


def test_changing_the_difference_recomputes_the_power_on_save(open_phase, demo_data):
    open_phase.power_difference = 0.2
    services.phase_save(phase=open_phase, created=False, changed=["power_difference"])
    open_phase.refresh_from_db()
    groups = open_phase.truth_report["power"]["splits"]["public"]["attributes"][0]["groups"]
    assert open_phase.truth_report["power"]["difference"] == 0.2
    assert {g["sensitivity"]["needed"] for g in groups} == {_needed(0.8, 0.2)}


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"power_baseline": 1.2}, "power_baseline", "strictly between 0 and 1"),
        ({"power_baseline": 0}, "power_baseline", "strictly between 0 and 1"),
        ({"power_difference": 0}, "power_difference", "must be positive"),
        ({"power_baseline": 0.9, "power_difference": 0.2}, "power_difference", "is above 1"),
    ],
)
def test_invalid_power_settings_are_refused_with_a_message_on_their_field(
    client, organiser, options, field, message
):
    challenge = ChallengeFactory()
    challenge.organisers.add(organiser)
    client.force_login(organiser)
    response = client.post(reverse("admin:competitions_phase_add"),
                           _form(challenge, None, **options))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field])
    assert not Phase.objects.filter(slug="final").exists()
    phase = PhaseFactory.build(challenge=challenge, **options)
    with pytest.raises(ValidationError) as refused:
        phase.clean()
    assert message in " ".join(refused.value.message_dict[field])


def test_the_database_refuses_power_settings_that_are_not_proportions(open_phase):
    with pytest.raises(IntegrityError), transaction.atomic():
        Phase.objects.filter(pk=open_phase.pk).update(power_baseline=0.96, power_difference=0.05)
    Phase.objects.filter(pk=open_phase.pk).update(power_baseline=0.95, power_difference=0.05)


def test_a_task_without_sensitivity_gets_a_note_instead_of_a_table(client, organiser):
    phase = PhaseFactory(challenge=ChallengeFactory(task="regression"), primary_metric="mae")
    phase.challenge.organisers.add(organiser)
    truth = b"case_id,label,sex\na,1.5,female\nb,2.0,male\nc,0.5,male\n"
    services.truth_upload(phase=phase, upload=SimpleUploadedFile("truth.csv", truth))
    assert "power" not in phase.truth_report
    client.force_login(organiser)
    page = client.get(reverse("admin:competitions_phase_change", args=[phase.pk])).content
    assert "computed for binary tasks only" in page.decode()


def _leaderboard(client, phase, board, user):
    client.force_login(user)
    url = reverse("competitions:leaderboard", args=[phase.challenge.slug, phase.slug])
    return client.get(url, {"board": board.slug}).content.decode()


def test_the_leaderboard_warns_when_a_ranked_group_cannot_detect_the_difference(
    client, open_phase, demo_data
):
    (participant,) = make_teams(open_phase, 1)
    board = make_board(open_phase, "mean_rank",
                       [("sensitivity@sex=female", True), ("specificity@sex=male", True),
                        ("auroc", True)])
    page = _leaderboard(client, open_phase, board, participant.user)
    positives, negatives = _counts(demo_data, "public", "female")
    group = next(g for a in open_phase.truth_report["power"]["splits"]["public"]["attributes"]
                 if a["attribute"] == "sex" for g in a["groups"] if g["group"] == "female")
    detectable = group["sensitivity"]["detectable_difference"]
    assert positives < _needed(0.8, 0.05)
    assert (f"The test set has {positives} positives in sex=female; differences in "
            f"sensitivity below {detectable:.3f} cannot be detected with power 0.8") in page
    male_negatives = _counts(demo_data, "public", "male")[1]
    assert (f"has {male_negatives} negatives in sex=male" in page) == (
        male_negatives < _needed(0.8, 0.05))
    # A difference the groups can detect: no warning.
    Phase.objects.filter(pk=open_phase.pk).update(power_difference=0.19)
    open_phase.refresh_from_db()
    services.phase_truth_report_refresh(phase=open_phase)
    assert "cannot be detected" not in _leaderboard(client, open_phase, board, participant.user)


def test_a_small_groups_counts_are_shown_to_organisers_only(client, open_phase, organiser,
                                                             demo_data):
    open_phase.challenge.organisers.add(organiser)
    Phase.objects.filter(pk=open_phase.pk).update(min_group_size=100_000)
    open_phase.refresh_from_db()
    (participant,) = make_teams(open_phase, 1)
    board = make_board(open_phase, "primary", [("sensitivity@sex=female", True)])
    positives, _negatives = _counts(demo_data, "public", "female")
    page = _leaderboard(client, open_phase, board, participant.user)
    assert ("The group sex=female is too small to detect a difference of 0.05 in sensitivity "
            "with power 0.8") in page
    assert f"{positives} positives" not in page
    assert f"The test set has {positives} positives in sex=female" in _leaderboard(
        client, open_phase, board, organiser)
