"""The phase's levelling settings in the admin: floors checked against the scoring registry, a
reference file checked as a submission is (with the same reasons) and scored by the worker with
the phase's settings, and the floor-then-primary rule only where the phase sets floors."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from competitions import services
from competitions.boards import leaderboard_validate
from competitions.models import LeaderboardSnapshot, Phase
from competitions.worker.snapshots import phase_leaderboards_refresh
from tests.competitions.builders import admin_form_data, make_board
from tests.conftest import score_now, upload
from tests.factories import ParticipantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def change(client, organiser, open_phase):
    open_phase.challenge.organisers.add(organiser)
    client.force_login(organiser)
    return reverse("admin:competitions_phase_change", args=[open_phase.pk])


def _posted(client, change, phase, **overrides) -> dict:
    """The phase's change form as rendered, with its split date and time widgets filled."""
    dates = {f"{name}_{i}": part for name in ("start", "end")
             for i, part in enumerate(getattr(phase, name).strftime("%Y-%m-%d %H:%M:%S").split())}
    return admin_form_data(client.get(change), start=None, end=None, **dates, **overrides)


def test_floors_outside_a_metrics_range_or_of_unknown_metrics_are_refused(client, change,
                                                                          open_phase):
    data = _posted(client, change, open_phase,
                           floors='{"sensitivity": 1.5, "brier": -1, "sensitivty": 0.5}')
    response = client.post(change, data)
    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.errors["floors"])
    assert "sensitivity: the floor must lie between 0 and 1 (the values sensitivity can take)" \
        in errors
    assert "brier: the ceiling must lie between 0 and 1" in errors
    assert "unknown metric 'sensitivty'" in errors


def test_a_reference_file_that_would_fail_as_a_submission_is_refused_with_its_reasons(
    client, change, open_phase, demo_data
):
    short = demo_data.test_features[["case_id"]].iloc[:10].assign(score=0.5)
    data = _posted(client, change, open_phase, reference_upload=SimpleUploadedFile(
        "winner.csv", short.to_csv(index=False).encode()))
    response = client.post(change, data)
    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.errors["reference_upload"])
    assert "The reference file was refused, as a submission would be:" in errors
    assert "missing" in errors  # the cases it lacks, worded as for a submission


def test_an_uploaded_winner_is_scored_with_the_phase_and_compared_with_every_entry(
    client, change, open_phase, good_predictions
):
    data = _posted(client, change, open_phase, reference_label="Winner of 2025",
                           floors='{"sensitivity": 0.2}', reference_upload=SimpleUploadedFile(
                               "winner.csv", good_predictions))
    response = client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    phase = Phase.objects.get(pk=open_phase.pk)
    assert phase.reference_file and phase.reference_result is None
    participant = ParticipantFactory(team__challenge=phase.challenge)
    submission = services.submission_create(phase=phase, user=participant.user,
                                            upload=upload(good_predictions))
    score_now(submission)
    phase.refresh_from_db()
    # Scored once, as a submission is: the same values as the entry with the same predictions.
    submission.refresh_from_db()
    assert phase.reference_result["public"]["overall"] == submission.result["public"]["overall"]
    snapshot = LeaderboardSnapshot.objects.get(leaderboard__phase=phase, split="public",
                                               leaderboard__is_primary=True)
    assert snapshot.summary["levelling"]["reference"] == "Winner of 2025"
    levelling = snapshot.summary["levelling"]
    by_sex = snapshot.rows[0]["levelling"]["metrics"]["sensitivity"]["sex"]
    # Against itself: the same values in every group, nothing levelled down.
    assert by_sex["groups"] == levelling["reference_groups"]["sensitivity"]["sex"]
    assert by_sex["levelled_down"] is False


def test_floor_then_primary_needs_the_phases_floors_and_one_ranked_column(open_phase):
    board = make_board(open_phase, "floor_then_primary", [("sensitivity", True)])
    with pytest.raises(ValidationError, match="set the phase's floors"):
        leaderboard_validate(board, ["sensitivity"], ["sensitivity"])
    open_phase.floors = {"sensitivity": 0.5}
    open_phase.save()
    board.refresh_from_db()
    leaderboard_validate(board, ["sensitivity"], ["sensitivity"])
    with pytest.raises(ValidationError, match="mark only one as ranked"):
        leaderboard_validate(board, ["sensitivity", "auroc"], ["sensitivity", "auroc"])
    phase_leaderboards_refresh(open_phase)  # a board without entries ranks without error
