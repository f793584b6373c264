"""The metric advisor on the phase's admin page: recommendations from the phase's ground truth
(the demo's flchain slice, whose death rate differs more than 2x between age bands) and the
organiser's answers, with reasons and the paper's sections, and warnings about the metrics on
the phase's leaderboards. Recommendations only: nothing the organiser saves is refused for them.
And the costs the organiser sets are those the worker scores expected_cost with.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from django.urls import reverse
from django.utils import timezone
from sklearn.metrics import confusion_matrix

from competitions import services
from competitions.board_field import board_field
from competitions.models import Challenge, LeaderboardColumn, Phase
from competitions.worker import evaluation
from tests.competitions.builders import admin_form_data
from tests.conftest import upload
from tests.factories import ChallengeFactory, PhaseFactory

pytestmark = pytest.mark.django_db


def _page(client, phase) -> str:
    response = client.get(reverse("admin:competitions_phase_change", args=[phase.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _posted(client, phase, **overrides) -> dict:
    """The phase's change form as the browser posts it back (its split date and time widgets
    included), with ``overrides``."""
    response = client.get(reverse("admin:competitions_phase_change", args=[phase.pk]))
    dates = {}
    for name in ("start", "end"):
        value = timezone.localtime(getattr(phase, name))
        dates |= {name: None, f"{name}_0": value.date().isoformat(),
                  f"{name}_1": value.time().isoformat(timespec="seconds")}
    return admin_form_data(response, **dates, **overrides)


def _organise(client, organiser, phase) -> None:
    phase.challenge.organisers.add(organiser)
    client.force_login(organiser)


def test_the_phase_page_shows_recommendations_and_warns_about_the_boards_metrics(
    client, organiser, open_phase
):
    Phase.objects.filter(pk=open_phase.pk).update(
        threshold_given=True, costs_known=True, cost_fn=5, cost_fp=1, threshold=0.3)
    board = open_phase.leaderboards.get(is_primary=True)
    LeaderboardColumn.objects.create(leaderboard=board, column_id="ppv@sex=F", order=9)
    _organise(client, organiser, open_phase)
    page = _page(client, open_phase)
    assert "Metric advisor" in page
    for metric in ("auroc", "expected_cost", "net_benefit", "balanced_accuracy"):
        assert f"<code>{metric}</code>" in page
    assert "subprocess S4 (Extended Data Fig. 4)" in page
    assert "fn=5,fp=1" in page
    warned = page.split("Warnings about metrics on this phase")[1]
    # The default board shows accuracy (costs known; the age bands' prevalences differ) and
    # the new column shows ppv (prevalence-dependent across groups).
    assert "<code>accuracy</code>" in warned and f"{board.name}: accuracy" in warned
    assert "<code>ppv</code>" in warned and f"{board.name}: ppv@sex=F" in warned
    assert "age_band" in warned
    assert "<code>npv</code>" not in warned  # not on a board: no warning


def test_the_organisers_answers_change_the_advice(client, organiser, open_phase):
    _organise(client, organiser, open_phase)
    page = _page(client, open_phase)
    assert "<code>expected_cost</code>" not in page  # no threshold given, costs unknown
    assert "<code>brier</code>" not in page
    saved = client.post(
        reverse("admin:competitions_phase_change", args=[open_phase.pk]),
        _posted(client, open_phase, calibration_matters="on", threshold_given="on"),
    )
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    page = _page(client, open_phase)
    assert "<code>brier</code>" in page and "<code>ece</code>" in page
    assert "<code>mcc</code>" in page and "Supplementary Note 2.6" in page


def test_a_phase_without_ground_truth_gets_a_note_not_an_error(client, organiser):
    phase = PhaseFactory()
    _organise(client, organiser, phase)
    assert "Upload a ground truth to see which metrics suit it" in _page(client, phase)


def test_a_multiclass_phase_is_told_the_advisor_covers_binary_tasks(client, organiser):
    phase = PhaseFactory(challenge=ChallengeFactory(task=Challenge.Task.MULTICLASS))
    _organise(client, organiser, phase)
    assert "The metric advisor covers binary tasks" in _page(client, phase)


def test_costs_that_are_not_positive_are_refused_on_their_field(client, organiser, open_phase):
    _organise(client, organiser, open_phase)
    url = reverse("admin:competitions_phase_change", args=[open_phase.pk])
    response = client.post(url, _posted(client, open_phase, cost_fn="0", cost_fp="-1"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) >= {"cost_fn", "cost_fp"}
    assert "must be a positive number" in str(errors["cost_fn"])
    open_phase.refresh_from_db()
    assert (open_phase.cost_fn, open_phase.cost_fp) == (1.0, 1.0)


def test_the_phase_costs_weigh_the_stored_expected_cost_and_the_board_field(
    open_phase, participant, good_predictions, demo_data
):
    """A submission scored by the worker, against the confusion matrix of its public cases."""
    Phase.objects.filter(pk=open_phase.pk).update(cost_fn=5, cost_fp=2, threshold=0.4)
    open_phase.refresh_from_db()
    submission = services.submission_create(phase=open_phase, user=participant.user,
                                            upload=upload(good_predictions))
    evaluation.submission_score(evaluation.submission_claim(submission.pk))
    submission.refresh_from_db()
    assert submission.config["costs"] == {"fn": 5.0, "fp": 2.0}
    truth = demo_data.truth
    scores = pd.read_csv(io.BytesIO(good_predictions)).set_index("case_id")["score"]
    public = truth[truth["split"] == "public"]
    decided = (scores.loc[public["case_id"]].to_numpy() >= 0.4).astype(int)
    tn, fp, fn, tp = confusion_matrix(public["label"], decided).ravel()
    stored = submission.result["public"]["overall"]["expected_cost"]["value"]
    assert stored == pytest.approx((5 * fn + 2 * fp) / len(public), abs=1e-12)
    board = open_phase.leaderboards.get(is_primary=True)
    field = board_field(board, "public", [submission.pk])
    assert field.costs == open_phase.error_costs
    assert np.isclose(field.threshold, 0.4)
