"""The participation funnel: a hand count, intervals against statsmodels, small cells withheld
(also when they could be had by subtraction), and the CLI."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from surveys.analysis.__main__ import main
from surveys.analysis.funnel import GROUP_STAGES, STAGES, WHOLE, funnel, funnel_frame
from surveys.analysis.intervals import newcombe, wilson
from tests.surveys.people_tables import AFTER_THE_PHASE, PHASE_END, person, table

TOLERANCE = 1e-12  # the same formulas: only rounding differs

# Days before the phase's end of each last submission; "active" is within the last 7.
HAND = [
    person("A", n=5, last=2, post=True, group="woman"),
    person("A", n=3, last=10, post=True, group="man"),
    person("A", linked=False, n=1, last=20, group="woman"),
    person("A", n=0, post=True, group="woman"),
    person("A", n=4, last=1),
    person("A", consented=False, linked=False, n=2, last=3, group="man"),
    person("B", n=1, last=30, group="man"),
    person("B", n=6, last=0.5, post=True, group="woman"),
    person("B", linked=False, n=3, last=5, post=True, group="man"),
    person("B", n=0, group="man"),
    person(None, n=2, last=1),
]
# Counted by hand from the rows above.
HAND_ARMS = {
    "A": {"consented": 5, "submitted": 4, "submitted_3": 3, "active": 2, "post_survey": 3},
    "B": {"consented": 4, "submitted": 3, "submitted_3": 2, "active": 2, "post_survey": 2},
}
# answered, linked, submitted, at least 3, active, post-survey (GROUP_STAGES' order).
HAND_GROUPS = {
    ("A", "woman"): (3, 2, 1, 1, 1, 2),
    ("B", "woman"): (1, 1, 1, 1, 1, 1),
    ("A", "man"): (1, 1, 1, 1, 0, 1),
    ("B", "man"): (3, 2, 1, 0, 0, 1),
}


def hand_funnel(**options):
    return funnel(table(HAND), phase_end=PHASE_END, now=AFTER_THE_PHASE, **options)


def test_the_funnel_per_arm_matches_a_hand_count():
    result = hand_funnel(threshold=1)
    assert (result.joined, result.consented) == (11, 10)
    assert result.arms == ("A", "B")
    for arm, stages in HAND_ARMS.items():
        assert {s: result.cell(arm, s).count for s in stages} == stages


def test_split_by_a_question_the_funnel_starts_at_its_answerers_and_needs_linking():
    result = hand_funnel(threshold=1, variable="gender")
    assert result.groups == ("man", "woman")
    for (arm, group), counts in HAND_GROUPS.items():
        assert tuple(result.cell(arm, s.key, group).count for s in GROUP_STAGES) == counts
    # Submission shares are of those who consented to linking, the others of the answerers.
    assert result.cell("B", "submitted", "man").denominator == 2
    assert result.cell("B", "post_survey", "man").denominator == 3


def test_shares_and_differences_match_statsmodels():
    result = hand_funnel(threshold=1, variable="gender")
    checked = 0
    for group in (None, *result.groups):
        base, *stages = STAGES if group is None else GROUP_STAGES
        assert result.cell("A", base.key, group).share is None  # the base: no share
        for stage in stages:
            first = result.cell("A", stage.key, group)
            second = result.cell("B", stage.key, group)
            for cell in (first, second):
                low, high = proportion_confint(cell.count, cell.denominator, method="wilson")
                assert cell.share == pytest.approx(cell.count / cell.denominator, abs=TOLERANCE)
                assert (cell.low, cell.high) == pytest.approx((low, high), abs=TOLERANCE)
            low, high = confint_proportions_2indep(
                second.count, second.denominator, first.count, first.denominator,
                method="newcomb", compare="diff",
            )
            assert second.difference == pytest.approx(second.share - first.share, abs=TOLERANCE)
            assert (second.difference_low, second.difference_high) == pytest.approx(
                (low, high), abs=TOLERANCE
            )
            assert first.difference is None  # the reference arm
            checked += 1
    assert checked == len(STAGES) - 1 + 2 * (len(GROUP_STAGES) - 1)


@pytest.mark.parametrize("n", [1, 2, 7, 30, 250])
def test_wilson_and_newcombe_intervals_equal_statsmodels_at_every_count(n):
    for k in range(n + 1):
        assert wilson(k, n) == pytest.approx(
            proportion_confint(k, n, method="wilson"), abs=TOLERANCE
        )
        for k2, n2 in ((0, 5), (3, 11), (n, n)):
            _d, low, high = newcombe(k, n, k2, n2)
            assert (low, high) == pytest.approx(
                confint_proportions_2indep(k, n, k2, n2, method="newcomb", compare="diff"),
                abs=TOLERANCE,
            )


def test_a_small_count_is_withheld_with_its_share():
    rows = [person("A", n=1, last=20) for _ in range(3)] + [person("A") for _ in range(17)]
    cell = funnel(table(rows), phase_end=PHASE_END, now=AFTER_THE_PHASE).cell("A", "submitted")
    assert (cell.count, cell.share, cell.low, cell.high) == (None, None, None, None)


def test_a_stage_whose_drop_outs_are_few_is_withheld_so_they_cannot_be_had_by_subtraction():
    # 20 consented, 18 submitted: showing 18 beside 20 would tell that 2 never submitted.
    rows = [person("A", n=3, last=1) for _ in range(15)]
    rows += [person("A", n=1, last=20) for _ in range(3)] + [person("A") for _ in range(2)]
    result = funnel(table(rows), phase_end=PHASE_END, now=AFTER_THE_PHASE)
    assert result.cell("A", "consented").count == 20
    assert result.cell("A", "submitted").count is None
    # At least 3 submissions: compared with the consented (20 - 15 = 5), it is shown.
    assert result.cell("A", "submitted_3").count == 15


def test_one_small_arm_takes_another_with_it_so_the_total_does_not_give_it_away():
    rows = [person("A") for _ in range(30)] + [person("B") for _ in range(3)]
    rows += [person("C") for _ in range(12)]
    result = funnel(table(rows), phase_end=PHASE_END, now=AFTER_THE_PHASE)
    assert result.consented == 45
    assert [result.cell(arm, "consented").count for arm in "ABC"] == [30, None, None]


def test_a_few_who_did_not_answer_cannot_be_had_from_the_arm_minus_its_groups():
    rows = [person("A", group="woman") for _ in range(9)]
    rows += [person("A", group="man") for _ in range(9)] + [person("A") for _ in range(2)]
    result = funnel(table(rows), phase_end=PHASE_END, now=AFTER_THE_PHASE, variable="gender")
    assert result.cell("A", "consented").count == 20
    answered = [result.cell("A", "answered", g).count for g in result.groups]
    assert answered.count(None) == 1  # 20 - 9 - 9 would tell that 2 did not answer


cells = st.tuples(
    st.sampled_from(["A", "B", "C"]),
    st.booleans(),  # linked
    st.integers(0, 5),  # submissions
    st.floats(0, 30),  # last submission, days before the end
    st.booleans(),  # post-survey
    st.sampled_from(["woman", "man", None]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(cells, min_size=1, max_size=60), st.integers(2, 6))
def test_no_released_count_lets_a_small_cell_be_derived(rows, threshold):
    people = table([person(a, linked=link, n=n, last=last, post=post, group=g)
                    for a, link, n, last, post, g in rows])
    result = funnel(people, phase_end=PHASE_END, now=AFTER_THE_PHASE, threshold=threshold,
                    variable="gender")
    by_key = {(c.arm, c.group, c.stage): c for c in result.cells}
    for (arm, group, stage_key), cell in by_key.items():
        if cell.count is None:
            assert cell.share is None and cell.low is None and cell.difference is None
            continue
        assert cell.count == 0 or cell.count >= threshold
        stages = {s.key: s for s in (STAGES if group is None else GROUP_STAGES)}
        parent = stages[stage_key].parent
        while parent is not None and by_key[(arm, group, parent)].count is None:
            parent = stages[parent].parent
        if parent is not None:
            left = by_key[(arm, group, parent)].count - cell.count
            assert left == 0 or left >= threshold
    lines = [([(arm, None, "consented") for arm in result.arms], None)] + [
        ([(arm, group, s.key) for group in result.groups], (arm, None, WHOLE.get(s.key)))
        for arm in result.arms for s in GROUP_STAGES
    ]
    exact = {(c.arm, c.group, c.stage): c.count
             for c in funnel(people, phase_end=PHASE_END, now=AFTER_THE_PHASE, threshold=1,
                             variable="gender").cells}
    for line, whole in lines:
        withheld = [key for key in line if by_key[key].count is None]
        if whole in by_key and by_key[whole].count is not None:
            # Everyone outside the groups: by subtraction from the arm's own count when no
            # group is withheld; an unknown beside a withheld group when few.
            rest = exact[whole] - sum(exact[key] for key in line)
            assert withheld or rest == 0 or rest >= threshold
            withheld += ["rest"] if 0 < rest < threshold else []
        assert len(withheld) != 1 or len(line) == 1


def test_the_cli_prints_funnel_csv_from_a_people_file(tmp_path, capsys):
    path = tmp_path / "people.csv"
    table(HAND).to_csv(path, index=False)
    code = main(["funnel", "--people", str(path), "--phase-end", PHASE_END.isoformat(),
                 "--now", AFTER_THE_PHASE.isoformat(), "--threshold", "1",
                 "--variable", "gender"])
    assert code == 0
    printed = pd.read_csv(io.StringIO(capsys.readouterr().out))
    expected = funnel_frame(hand_funnel(threshold=1, variable="gender"))
    assert len(printed) == len(expected) == 2 + len(STAGES) * 2 + len(GROUP_STAGES) * 4
    row = printed[(printed.arm == "B") & (printed.stage == "submitted") & printed.group.isna()]
    assert row["count"].tolist() == [3]
    assert row["share"].tolist() == pytest.approx([0.75])


def test_the_cli_refuses_a_table_without_the_columns_it_needs(tmp_path, capsys):
    path = tmp_path / "people.csv"
    table(HAND).drop(columns=["linked"]).to_csv(path, index=False)
    code = main(["funnel", "--people", str(path), "--phase-end", PHASE_END.isoformat()])
    assert code == 2
    assert "linked" in capsys.readouterr().err


def test_the_cli_prints_json_with_withheld_cells_as_null(tmp_path, capsys):
    path = tmp_path / "people.csv"
    table(HAND).to_csv(path, index=False)
    code = main(["funnel", "--people", str(path), "--phase-end", PHASE_END.isoformat(),
                 "--now", AFTER_THE_PHASE.isoformat(), "--format", "json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["joined"], printed["consented"], printed["threshold"]) == (11, 10, 5)
    assert all(c["count"] is None for c in printed["cells"] if c["stage"] == "consented")
