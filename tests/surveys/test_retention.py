"""Retention: who drops out when, Kaplan–Meier curves and log-rank tests against lifelines (to
1e-9, on lifelines' own data sets and on people tables), and small curves withheld."""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_rossi, load_waltons
from lifelines.statistics import multivariate_logrank_test

from surveys.analysis.__main__ import main
from surveys.analysis.retention import durations, kaplan_meier, logrank, retention
from surveys.charts import survival_chart
from tests.surveys.people_tables import AFTER_THE_PHASE, PHASE_END, person, table

TOLERANCE = 1e-9


def assert_like_lifelines(days, events):
    ours = kaplan_meier(days, events)
    fitter = KaplanMeierFitter().fit(np.asarray(days), np.asarray(events))
    theirs = fitter.event_table
    assert ours.times == pytest.approx(theirs.index.to_numpy(), abs=TOLERANCE)
    assert ours.survival == pytest.approx(
        fitter.survival_function_.iloc[:, 0].to_numpy(), abs=TOLERANCE
    )
    assert ours.at_risk.tolist() == theirs["at_risk"].tolist()
    assert ours.events.tolist() == theirs["observed"].tolist()
    assert ours.censored.tolist() == theirs["censored"].tolist()


@pytest.mark.parametrize("group", ["control", "miR-137"])
def test_kaplan_meier_equals_lifelines_on_the_waltons_data(group):
    waltons = load_waltons()
    mine = waltons[waltons["group"] == group]
    assert_like_lifelines(mine["T"], mine["E"].astype(bool))


def test_kaplan_meier_equals_lifelines_on_the_rossi_data_with_censoring_ties():
    rossi = load_rossi()
    assert_like_lifelines(rossi["week"], rossi["arrest"].astype(bool))


@pytest.mark.parametrize(
    ("data", "duration", "event", "arms"),
    [
        (load_waltons(), "T", "E", lambda d: d["group"]),
        (load_rossi(), "week", "arrest", lambda d: d["fin"].astype(str)),
        # Four arms: financial aid × race.
        (load_rossi(), "week", "arrest", lambda d: d["fin"].astype(str) + d["race"].astype(str)),
    ],
)
def test_the_log_rank_test_equals_lifelines(data, duration, event, arms):
    labels = arms(data)
    statistic, df, p = logrank(data[duration], data[event].astype(bool), labels)
    theirs = multivariate_logrank_test(data[duration], labels, data[event])
    assert statistic == pytest.approx(theirs.test_statistic, abs=TOLERANCE)
    assert df == theirs.degrees_of_freedom
    assert p == pytest.approx(theirs.p_value, abs=TOLERANCE)


def test_drop_out_is_a_last_submission_before_the_final_week_else_censored():
    rows = table([
        person("A", n=2, last=20, joined=40),  # dropped out 20 days after joining
        person("A", n=5, last=3, joined=40),  # still active: censored at the end, day 40
        person("A", n=1, last=30, joined=40, withdrawn=25),  # withdrew first: censored, day 15
        person("A", n=0, joined=40),  # never submitted: not in retention
        person("A", consented=False, n=3, last=20),  # not consenting: not in it either
    ])
    table_ = durations(rows, phase_end=PHASE_END, now=AFTER_THE_PHASE)
    assert table_["days"].tolist() == pytest.approx([20.0, 40.0, 15.0])
    assert table_["event"].tolist() == [True, False, False]


def test_while_the_phase_runs_people_are_censored_at_the_export_time():
    now = PHASE_END - timedelta(days=10)
    rows = table([
        person("A", n=2, last=12, joined=40),  # 2 days before now: not a drop-out yet
        person("A", n=2, last=20, joined=40),  # 10 days before now: dropped out at day 20
    ])
    table_ = durations(rows, phase_end=PHASE_END, now=now)
    assert table_["days"].tolist() == pytest.approx([30.0, 20.0])
    assert table_["event"].tolist() == [False, True]


def people_in_two_arms(n_a=12, n_b=9):
    rng = np.random.default_rng(7)
    rows = []
    for arm, n in (("A", n_a), ("B", n_b)):
        for i in range(n):
            rows.append(person(arm, n=1 + i % 4, last=float(rng.integers(0, 35)),
                               joined=40.0, group="woman" if i % 2 else "man",
                               linked=i % 3 != 0))
    return table(rows)


def test_the_curves_and_test_of_a_people_table_equal_lifelines():
    people = people_in_two_arms()
    result = retention(people, phase_end=PHASE_END, now=AFTER_THE_PHASE, threshold=1)
    table_ = durations(people, phase_end=PHASE_END, now=AFTER_THE_PHASE)
    for curve in result.curves:
        mine = table_[table_["arm"] == curve.arm]
        fitter = KaplanMeierFitter().fit(mine["days"], mine["event"])
        assert curve.n == len(mine)
        assert curve.times == pytest.approx(fitter.event_table.index.to_numpy(), abs=TOLERANCE)
        assert curve.survival == pytest.approx(
            fitter.survival_function_.iloc[:, 0].to_numpy(), abs=TOLERANCE
        )
    (test,) = result.tests
    theirs = multivariate_logrank_test(table_["days"], table_["arm"], table_["event"])
    assert test.statistic == pytest.approx(theirs.test_statistic, abs=TOLERANCE)
    assert test.p_value == pytest.approx(theirs.p_value, abs=TOLERANCE)


def test_split_by_a_question_only_linked_answerers_are_in_the_curves():
    people = people_in_two_arms()
    result = retention(people, phase_end=PHASE_END, now=AFTER_THE_PHASE, threshold=1,
                       variable="gender")
    expected = people[people["linked"] & (people["arm"] == "A") & (people["group"] == "woman")]
    curve = next(c for c in result.curves if (c.arm, c.group) == ("A", "woman"))
    assert curve.n == len(expected)
    assert [t.group for t in result.tests] == [None, "man", "woman"]


def test_a_curve_stops_before_fewer_than_the_threshold_are_at_risk():
    result = retention(people_in_two_arms(), phase_end=PHASE_END, now=AFTER_THE_PHASE,
                       threshold=5)
    for curve in result.curves:
        assert min(curve.at_risk) >= 5
        assert curve.truncated


def test_a_small_arm_has_no_curve_and_no_test():
    result = retention(people_in_two_arms(n_b=4), phase_end=PHASE_END, now=AFTER_THE_PHASE)
    small = next(c for c in result.curves if c.arm == "B")
    assert (small.n, small.times, small.survival) == (None, (), ())
    assert result.tests[0].statistic is None and result.tests[0].p_value is None


def test_the_cli_prints_retention_csv(tmp_path, capsys):
    path = tmp_path / "people.csv"
    people_in_two_arms().to_csv(path, index=False)
    code = main(["retention", "--people", str(path), "--phase-end", PHASE_END.isoformat(),
                 "--now", AFTER_THE_PHASE.isoformat(), "--threshold", "1"])
    assert code == 0
    printed = pd.read_csv(io.StringIO(capsys.readouterr().out))
    result = retention(people_in_two_arms(), phase_end=PHASE_END, now=AFTER_THE_PHASE,
                       threshold=1)
    assert len(printed) == sum(len(c.times) for c in result.curves)
    assert printed["logrank_p"].iloc[0] == pytest.approx(result.tests[0].p_value, rel=1e-9)


def test_the_chart_draws_each_curve_as_steps_and_nothing_for_withheld_curves():
    chart = survival_chart([
        {"label": "A", "times": (0.0, 10.0, 20.0), "survival": (1.0, 0.5, 0.5)},
        {"label": "B", "times": (), "survival": ()},
    ])
    (line,) = chart["lines"]
    points = [tuple(map(float, p.split(","))) for p in line["points"].split()]
    assert len(points) == 1 + 2 * 3
    # Level until each time, then down: the x of each drop equals the x of the level before it.
    assert points[3][0] == points[4][0] and points[3][1] == points[2][1]
    assert points[-1][0] == chart["right"]
    assert survival_chart([{"label": "B", "times": (), "survival": ()}]) is None
