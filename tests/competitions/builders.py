"""Leaderboard fixtures: scored submissions whose stored results come from ``scoring.evaluate``
on a slice of the demo's real data (flchain), with the values of the metrics a test ranks on set
by hand, so rules can be checked against hand-computed ranks while every other key is exactly
what the worker stores."""

from __future__ import annotations

import dataclasses
import functools
import io
from datetime import timedelta

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from competitions.demo_data import load_demo_data
from competitions.models import Leaderboard, LeaderboardColumn, Submission
from scoring.evaluate import evaluate
from scoring.fairness import summary
from scoring.io import read_predictions, read_truth
from scoring.registry import get_metric
from scoring.result import GroupResult, MetricValue, SplitResult
from scoring.suppression import suppressed_groups
from tests.factories import ParticipantFactory

N_CASES = 100
METRICS = ("auroc", "sensitivity")


@functools.cache
def _evaluated() -> SplitResult:
    """A real evaluation of 100 demo cases by sex: older patients are given higher risk."""
    data = load_demo_data()
    truth_frame = data.truth.iloc[:N_CASES][["case_id", "label", "sex"]]
    truth = read_truth(io.BytesIO(truth_frame.to_csv(index=False).encode()))
    age = data.test_features["age"].iloc[:N_CASES]
    submitted = truth_frame[["case_id"]].assign(score=np.clip((age - 40) / 60, 0, 1).round(3))
    predictions = read_predictions(io.BytesIO(submitted.to_csv(index=False).encode()), truth)
    return evaluate(truth, predictions, metrics=list(METRICS), bootstrap=20)


def _value(metric_id: str, value: float | None, ci: tuple[float, float] | None) -> MetricValue:
    if value is None:
        undefined = get_metric(metric_id, "binary").undefined
        return MetricValue(value=None, reason=undefined or "no cases")
    return MetricValue(value=value, ci=ci)


def stored_result(auroc, sensitivity=None, groups=None, small=()) -> dict:
    """The stored result of a submission with these overall values and, per group of ``sex``,
    ``{group: {metric: value}}`` (groups in ``small`` are flagged small, with 5 cases)."""
    real = _evaluated()
    overall = {
        m: _value(m, v, None if v is None else (v - 0.05, v + 0.05))
        for m, v in {"auroc": auroc, "sensitivity": sensitivity}.items()
    }
    group_rows = [
        GroupResult(attribute="sex", group=name, n=5 if name in small else 50,
                    small=name in small,
                    metrics={m: _value(m, v, None) for m, v in values.items()})
        for name, values in (groups or {}).items()
    ]
    # Suppression and the fairness summaries of the chosen values, by the engine's own rules.
    hidden = suppressed_groups(group_rows)
    group_rows = [dataclasses.replace(g, suppressed=(g.attribute, g.group) in hidden)
                  for g in group_rows]
    kept = [g for g in group_rows if not g.suppressed]
    fairness = {
        m: {"sex": summary(np.array([np.nan if g.value(m) is None else g.value(m) for g in kept]),
                           [g.group for g in kept], get_metric(m, "binary").higher_is_better)}
        for m in METRICS
    }
    return dataclasses.replace(real, overall=overall, groups=group_rows,
                               fairness=fairness).to_dict()


def make_scored(phase, participant, created_offset=0, released=True, **values) -> Submission:
    """A scored submission as the worker leaves it; ``released``: the release step's decision
    (the ladder's own tests decide it for real, in test_ladder.py)."""
    return Submission.objects.create(
        phase=phase, team=participant.team, created_by=participant.user,
        file="submissions/x.upload", original_name="x.csv", status=Submission.Status.SCORED,
        created_at=timezone.now() - timedelta(minutes=100 - created_offset),
        result={"public": stored_result(**values), "private": None}, released=released,
    )


def make_teams(phase, n):
    return [ParticipantFactory(team__challenge=phase.challenge) for _ in range(n)]


def make_board(phase, ranking, columns, **fields) -> Leaderboard:
    board = Leaderboard.objects.create(phase=phase, slug=ranking, name=ranking,
                                       ranking=ranking, **fields)
    for order, (column_id, ranked) in enumerate(columns):
        LeaderboardColumn.objects.create(leaderboard=board, column_id=column_id, ranked=ranked,
                                         order=order)
    return board


def phase_form(challenge, truth: bytes | None, name="truth.csv", **fields) -> dict:
    """The admin's "add phase" form, filled in; ``truth``: the ground truth to upload (None:
    none); ``fields`` override any field."""
    form = {
        "challenge": challenge.pk, "name": "Final", "slug": "final",
        "start_0": "2026-01-01", "start_1": "00:00:00",
        "end_0": "2027-01-01", "end_1": "00:00:00",
        "submissions_per_day": 5, "submissions_total": 50, "threshold": 0.5,
        "primary_metric": "auroc", "bootstrap_resamples": 200, "min_group_size": 30,
        "intersections": "", "score_visibility": "live",
        "release_policy": "ladder", "release_decimals": 3,
        "private_share": 0, "split_seed": 0,
        "similarity_flag_threshold": 0.95, "ensemble_size": 3,
        "power_baseline": 0.8, "power_difference": 0.05, "cost_fn": 1, "cost_fp": 1,
        "rater_tie_rule": "official", **fields,
    }
    if truth is not None:
        form["ground_truth_upload"] = SimpleUploadedFile(name, truth, content_type="text/csv")
    return form


def admin_form_data(response, **overrides) -> dict:
    """What the browser would post back from an admin change page as rendered, every inline
    row included (unticked boxes left out); ``overrides`` set or, with None, drop a field."""
    forms = [response.context["adminform"].form]
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms += formset.forms
        management = formset.management_form
        data.update({management.add_prefix(name): management[name].value()
                     for name in management.fields})
    for form in forms:
        for bound in form:
            value = bound.value()
            if value is True:
                data[bound.html_name] = "on"
            elif value is not None and value is not False:
                data[bound.html_name] = value
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def make_scored_on_both_splits(phase, participant, **values) -> Submission:
    """A scored submission with the same results on both splits: the report shows the last
    split its audience may see (the private one for organisers and, after the end, everyone)."""
    submission = make_scored(phase, participant, **values)
    submission.result["private"] = submission.result["public"]
    submission.save(update_fields=["result"])
    return submission
