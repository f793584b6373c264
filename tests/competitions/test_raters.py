"""Several raters on the web: the worker scores each submission against every rater, the
results page shows the human ceiling and the rank intervals, through the release step; rater
columns are never subgroups; the admin warns about them.

The demo ground truth (flchain) with three raters simulated by flipping a seeded share of the
official labels."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from competitions import services
from competitions.models import Leaderboard, LeaderboardSnapshot, Phase
from competitions.release import viewer_for
from competitions.selectors import leaderboard_table, phase_raters
from competitions.selectors.raters import truth_legacy_rater_attributes
from tests.competitions.builders import phase_form
from tests.conftest import predictions_csv, score_now, upload
from tests.factories import ChallengeFactory, ParticipantFactory, PhaseFactory

pytestmark = pytest.mark.django_db

RATERS = (("ann", 0.05), ("bob", 0.15), ("cy", 0.3))


@pytest.fixture
def rated(demo_data) -> pd.DataFrame:
    rng = np.random.default_rng(19)
    frame = demo_data.truth.copy()
    for name, share in RATERS:
        flip = rng.random(len(frame)) < share
        frame[f"label_{name}"] = np.where(flip, 1 - frame["label"], frame["label"])
    return frame


def _bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


@pytest.fixture
def rated_phase(db, rated, demo_data):
    phase = PhaseFactory()
    services.truth_upload(phase=phase, upload=upload(_bytes(rated), "truth.csv"))
    features = demo_data.test_features
    age = (features["age"].to_numpy() - 50) / 50
    chains = (features["kappa"] + features["lambda"]).to_numpy() / 10
    scores = {}
    for team, risk in {"Ages": age, "Chains": chains, "Both": age + chains}.items():
        participant = ParticipantFactory(team__challenge=phase.challenge, team__name=team)
        values = np.round(1 / (1 + np.exp(-(risk - np.median(risk)) * 4)), 6)
        scores[team] = (participant, values)
        submission = services.submission_create(
            phase=phase, user=participant.user,
            upload=upload(predictions_csv(features["case_id"], values)))
        score_now(submission)
    return phase, scores


def test_rater_columns_are_read_as_raters_never_as_attributes(rated_phase):
    phase, scores = rated_phase
    assert phase.truth_attributes == ["age_band", "kidney_function", "sex"]
    assert phase.truth_report["raters"]["columns"] == ["label_ann", "label_bob", "label_cy"]
    participant, _values = scores["Ages"]
    submission = participant.team.submissions.get()
    groups = {group["attribute"] for group in submission.result["public"]["groups"]}
    assert not any(name.startswith("label_") for name in groups)
    snapshot = LeaderboardSnapshot.objects.filter(leaderboard__phase=phase,
                                                  split="public").first()
    assert not any(key.startswith("label_") for cells in snapshot.groups.values()
                   for by in cells.values() for key in by)


def test_each_submission_is_scored_against_each_rater_as_scikit_learn_scores_it(rated_phase,
                                                                                 rated):
    phase, scores = rated_phase
    participant, values = scores["Chains"]
    stored = participant.team.submissions.get().result["raters"]
    public = (rated["split"] == "public").to_numpy()
    for column in ("label", "label_ann", "label_bob", "label_cy"):
        y = rated[column].to_numpy()[public]
        assert abs(stored["public"][column]["auroc"] - roc_auc_score(y, values[public])) < 1e-9
    assert set(stored) == {"public", "private"}


def test_the_results_page_shows_the_human_ceiling_and_rank_intervals(client, rated_phase,
                                                                     rated):
    phase, scores = rated_phase
    participant, _values = scores["Ages"]
    client.force_login(participant.user)
    url = reverse("competitions:results", args=[phase.challenge.slug, phase.slug])
    page = client.get(url).content.decode()
    assert "Several raters" in page and "Human ceiling (raters)" in page
    public = rated[rated["split"] == "public"]
    kappa = cohen_kappa_score(public["label_ann"], public["label_bob"])
    assert f"{round(kappa, 3):.3f}" in page
    section = phase_raters(phase, viewer_for(participant.user, phase))
    assert [r["id"] for r in section["references"]] == [
        "label", "majority", "label_ann", "label_bob", "label_cy"]
    table = section["tables"][0]
    assert table["metric"] == "auroc"
    # Released at the phase's resolution, as every participant-facing number.
    assert all(v == round(v, 3) for row in table["rows"] for v in row["values"])
    assert table["ceiling_row"] is not None and len(table["ceiling_row"]) == 5
    ranks = {row["team"]: row["ranks"] for row in table["rows"]}
    assert sorted(r[0] for r in ranks.values()) == [1, 2, 3]
    assert 0 <= table["leader_stays"] <= 1


def test_a_participant_gets_no_rater_values_of_the_private_split_before_the_end(
    client, rated_phase, rated
):
    """The attack: ask for the private split's raters section, on the page and in the API."""
    phase, scores = rated_phase
    participant, values = scores["Both"]
    viewer = viewer_for(participant.user, phase)
    assert phase_raters(phase, viewer, split="private") is None
    board = Leaderboard.objects.get(phase=phase, is_primary=True)
    # The snapshot's raters section never travels with the leaderboard's summary.
    assert "raters" not in leaderboard_table(board, split="public", user=participant.user)[
        "summary"]
    private = (rated["split"] == "private").to_numpy()
    secret = round(roc_auc_score(rated["label_cy"].to_numpy()[private], values[private]), 3)
    client.force_login(participant.user)
    url = reverse("competitions:results", args=[phase.challenge.slug, phase.slug])
    response = client.get(url, {"split": "private"})
    assert response.status_code == 404 and f"{secret:.3f}".encode() not in response.content
    for split in ("public", "private"):
        api = client.get(reverse("api:leaderboard", args=[phase.challenge.slug, phase.slug,
                                                          board.slug]), {"split": split})
        assert b"label_cy" not in api.content and b"majority" not in api.content
    # After the end the private split is released, and so is its raters section.
    Phase.objects.filter(pk=phase.pk).update(start=timezone.now() - timedelta(days=3),
                                             end=timezone.now() - timedelta(days=1))
    phase.refresh_from_db()
    assert phase_raters(phase, viewer_for(participant.user, phase), split="private")


def test_scores_hidden_withhold_every_rater_number(rated_phase):
    phase, scores = rated_phase
    Phase.objects.filter(pk=phase.pk).update(score_visibility="on_publish")
    phase.refresh_from_db()
    participant, _values = scores["Ages"]
    section = phase_raters(phase, viewer_for(participant.user, phase))
    assert section["hidden"]
    assert section["ceiling"]["agreement"]["fleiss_kappa"] is None
    assert all(row["values"] is None and row["ranks"] is None
               for table in section["tables"] for row in table["rows"])


def test_bad_rater_values_are_refused_at_upload_with_rows(rated, db):
    frame = rated.astype({"label_bob": str})
    frame.loc[[0, 5], "label_bob"] = "2"
    phase = PhaseFactory()
    with pytest.raises(ValidationError) as caught:
        services.truth_upload(phase=phase, upload=upload(_bytes(frame), "truth.csv"))
    assert "2 label_bob values are not 0 or 1 (true/false also accepted), first rows: 2, 7" in (
        " ".join(caught.value.messages))


def test_the_admin_names_rater_columns_on_upload_and_on_the_phase_page(client, organiser,
                                                                       rated):
    challenge = ChallengeFactory()
    challenge.organisers.add(organiser)
    client.force_login(organiser)
    response = client.post(reverse("admin:competitions_phase_add"),
                           phase_form(challenge, _bytes(rated)), follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert "are read as raters" in text and "label_ann, label_bob, label_cy" in text
    phase = Phase.objects.get(slug="final")
    page = client.get(reverse("admin:competitions_phase_change", args=[phase.pk])).content
    assert "Rater columns: label_ann, label_bob, label_cy" in page.decode()


def test_the_admin_warns_about_a_ground_truth_stored_with_a_rater_column_as_attribute(
    client, organiser, open_phase
):
    open_phase.challenge.organisers.add(organiser)
    Phase.objects.filter(pk=open_phase.pk).update(truth_attributes=["label_x", "sex"])
    open_phase.refresh_from_db()
    assert truth_legacy_rater_attributes(open_phase) == ["label_x"]
    client.force_login(organiser)
    page = client.get(reverse("admin:competitions_phase_change",
                              args=[open_phase.pk])).content.decode()
    assert "The stored ground truth has the column label_x" in page


def test_the_tie_rule_is_validated_by_the_database(open_phase):
    open_phase.rater_tie_rule = "coin"
    with pytest.raises(ValidationError):
        open_phase.full_clean()
    with transaction.atomic(), pytest.raises(IntegrityError):
        Phase.objects.filter(pk=open_phase.pk).update(rater_tie_rule="coin")


def test_the_tie_rule_decides_the_majority_the_worker_stores(db):
    truth = pd.DataFrame({"case_id": [f"c{i}" for i in range(40)], "label": [1, 0] * 20,
                          "label_x": [1] * 40, "label_y": [0] * 40})
    for rule, expected in (("positive", 1.0), ("negative", 0.0)):
        phase = PhaseFactory(rater_tie_rule=rule)
        services.truth_upload(phase=phase, upload=upload(_bytes(truth), "truth.csv"))
        participant = ParticipantFactory(team__challenge=phase.challenge)
        submission = services.submission_create(
            phase=phase, user=participant.user,
            upload=upload(predictions_csv(truth["case_id"], np.full(40, 0.9))))
        score_now(submission)
        submission.refresh_from_db()
        # Every case is a 1-1 tie: the majority is all positive or all negative, and an entry
        # saying positive everywhere has that accuracy.
        assert submission.result["raters"]["public"]["majority"]["accuracy"] == expected


def test_changing_the_tie_rule_recomputes_the_stored_human_ceiling(db):
    truth = pd.DataFrame({"case_id": [f"c{i}" for i in range(40)], "label": [0, 1] * 20,
                          "label_x": [1] * 40, "label_y": [0] * 40, "label_z": [1, 0] * 20})
    phase = PhaseFactory()
    services.truth_upload(phase=phase, upload=upload(_bytes(truth), "truth.csv"))

    def x_against_others() -> float:
        ceiling = phase.truth_report["raters"]["ceiling"]["public"]
        return next(r for r in ceiling["raters"] if r["rater"] == "x")["against_others"][
            "accuracy"]

    # x (all 1) against y (all 0) and z: a tie wherever z says 1, which the official label
    # breaks as 0 there: the others' majority is all 0, and x never agrees with it.
    assert x_against_others() == 0.0
    phase.rater_tie_rule = "positive"
    services.phase_save(phase=phase, created=False, changed=["rater_tie_rule"])
    phase.refresh_from_db()
    # Ties to the positive class: the others' majority is z, which x meets on half the cases.
    assert x_against_others() == 0.5


def test_the_challenge_report_carries_the_raters_section_and_its_bias_item(rated_phase, rated):
    from competitions.report.build import report_context, report_html
    from tests.factories import UserFactory

    phase, _scores = rated_phase
    boss = UserFactory()
    phase.challenge.organisers.add(boss)
    html = report_html(phase, boss)
    assert 'id="raters"' in html and "Human ceiling (raters)" in html
    # An organiser's report is on the last split released to them (private, for organisers).
    shown = rated[rated["split"] == report_context(phase, boss)["split"]]
    kappa = cohen_kappa_score(shown["label_ann"], shown["label_cy"])
    assert f"{round(kappa, 3):.3f}" in html
    assert "5 references (" in html
