"""Predictions are aligned to the ground truth by case id, whichever way the ids are written.

Ids that are one prefix and a number ("c17", "1042") go through integer arithmetic
(``NumberedIds``); any other ids through ``pyarrow.compute.index_in``. Both must give the
alignment, and the problems (counts, first ids), of a plain dict-based oracle, and "007" is
never the case "7".
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import InputError, read_predictions, read_truth
from scoring.io import _parse_numbers

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
SHOWN = 5


def truth_csv(ids: list[str]) -> bytes:
    return ("case_id,label\n" + "".join(f"{c},{i % 2}\n" for i, c in enumerate(ids))).encode()


def predictions_csv(ids: list[str], scores: list[float]) -> bytes:
    return ("case_id,score\n" + "".join(f"{c},{s!r}\n" for c, s in zip(ids, scores,
                                                                      strict=True))).encode()


def first(items: list) -> str:
    return ", ".join(str(i) for i in items[:SHOWN]) + (", …" if len(items) > SHOWN else "")


def counted(items: list, one: str, many: str, rest: str, shown: str = "first") -> str:
    return f"{len(items)} {one if len(items) == 1 else many} {rest}, {shown}: {first(items)}"


def oracle(truth_ids: list[str], ids: list[str], scores: list[float]):
    """(scores in the truth's order, None) or (None, the id problems), by dicts and lists."""
    position = {case: i for i, case in enumerate(truth_ids)}
    problems = []
    empty_rows = [row for row, case in enumerate(ids, start=2) if case == ""]
    if empty_rows:
        problems.append(counted(empty_rows, "row has", "rows have", "an empty case_id",
                                "first rows"))
    seen_once: set[str] = set()
    repeated: list[str] = []
    for case in ids:
        if case == "":
            continue
        if case in seen_once and case not in repeated:
            repeated.append(case)
        seen_once.add(case)
    if repeated:
        problems.append(counted(repeated, "case id appears", "case ids appear",
                                "more than once"))
    unknown = [case for case in ids if case and case not in position]
    if unknown:
        problems.append(counted(unknown, "case id is", "case ids are", "not in the ground truth"))
    missing = [case for case in truth_ids if case not in set(ids)]
    if missing:
        problems.append(counted(missing, "case", "cases", "missing"))
    if problems:
        return None, problems
    aligned = [0.0] * len(truth_ids)
    for case, score in zip(ids, scores, strict=True):
        aligned[position[case]] = score
    return np.array(aligned), None


def both_paths(truth_ids: list[str], ids: list[str], scores: list[float]):
    """The result of reading through the truth as read (numbered ids when they are) and
    through the hashing path alone: (scores, None) or (None, problems) for each."""
    truth = read_truth(io.BytesIO(truth_csv(truth_ids)))
    results = []
    for candidate in (truth, truth.replace(numbered=None)):
        try:
            read = read_predictions(io.BytesIO(predictions_csv(ids, scores)), candidate)
        except InputError as error:
            results.append((None, error.problems))
        else:
            results.append((read.scores, None))
    return truth, results


def assert_same(expected, got) -> None:
    scores, problems = expected
    if scores is None:
        assert got[0] is None
        assert got[1] == problems
    else:
        assert got[1] is None
        np.testing.assert_array_equal(got[0], scores)


numbers = st.sets(st.integers(0, 10**6), min_size=1, max_size=40).map(sorted)
text_ids = st.sets(st.text("abcxyz0123456789_-", min_size=1, max_size=6), min_size=1,
                   max_size=40).map(sorted)
truth_ids = st.one_of(
    numbers.map(lambda ns: [f"c{n}" for n in ns]),  # a prefix and a number
    numbers.map(lambda ns: [str(n) for n in ns]),  # plain integers
    numbers.map(lambda ns: [f"p{n:05d}" for n in ns]),  # leading zeros: not numbered
    text_ids,  # anything
)


@st.composite
def submissions(draw):
    """Truth ids and a predictions file made from them: shuffled, some cases dropped, some
    repeated, some ids the truth lacks (other numbers, leading zeros, empty) added."""
    ids = draw(truth_ids)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    drop = draw(st.booleans())
    sent = [c for c in ids if not drop or rng.random() < 0.9]
    if sent and draw(st.booleans()):
        sent += list(rng.choice(sent, size=draw(st.integers(1, 3))))
    if draw(st.booleans()):
        sent += draw(st.lists(st.sampled_from(
            ["", "0", "c0", "007", "c007", "x1", "1", "c1", "99999999", "c-1", "+1", "1.0"]),
            min_size=1, max_size=3))
    order = rng.permutation(len(sent))
    sent = [str(sent[i]) for i in order]
    if not sent:
        sent = [ids[0]]
    scores = [round(float(s), 6) for s in rng.random(len(sent))]
    return ids, sent, scores


@SETTINGS
@given(submissions())
def test_both_alignments_agree_with_a_dict_oracle(submission):
    ids, sent, scores = submission
    expected = oracle(ids, sent, scores)
    _, (numbered, hashed) = both_paths(ids, sent, scores)
    assert_same(expected, numbered)
    assert_same(expected, hashed)


@pytest.mark.parametrize("ids, numbered", [
    (["c2", "c0", "c1"], True),
    (["10", "3", "7"], True),
    (["case-9", "case-10"], True),
    (["c007", "c8"], False),  # a leading zero: "c007" and "c7" are different cases
    (["0", "00"], False),
    (["a", "b"], False),
    (["c1", "d2"], False),
    (["c1", "c" + "9" * 19], False),  # beyond an int64
    (["c0", "c10000000"], False),  # too sparse for a table of positions
])
def test_ids_numbered_behind_one_prefix_are_recognised(ids, numbered):
    truth = read_truth(io.BytesIO(truth_csv(ids)))
    assert (truth.numbered is not None) is numbered
    assert list(truth.case_ids) == ids


def test_a_leading_zero_is_another_case():
    _, results = both_paths(["7", "8"], ["007", "8"], [0.5, 0.25])
    for scores, problems in results:
        assert scores is None
        assert problems == ["1 case id is not in the ground truth, first: 007",
                            "1 case missing, first: 7"]


def test_repeated_and_missing_numbered_ids_are_named_as_before():
    _, results = both_paths([f"c{i}" for i in range(10)],
                            [f"c{i}" for i in range(8)] + ["c3", "c3", "c12"],
                            [0.5] * 11)
    for scores, problems in results:
        assert scores is None
        assert problems == ["1 case id appears more than once, first: c3",
                            "1 case id is not in the ground truth, first: c12",
                            "2 cases missing, first: c8, c9"]


def test_a_repeated_numbered_id_in_the_truth_is_refused_with_its_rows():
    with pytest.raises(InputError) as error:
        read_truth(io.BytesIO(truth_csv(["c1", "c2", "c1", "c3", "c2"])))
    assert error.value.problems == ["2 case ids appear more than once, first: c1, c2"]


def test_numbered_truth_stays_numbered_through_replace_and_subset_reads_alike():
    truth = read_truth(io.BytesIO(truth_csv([f"c{i}" for i in range(6)])))
    relabelled = truth.replace(labels=np.ones(6, dtype=np.int8))
    assert relabelled.numbered is truth.numbered
    half = truth.subset(np.arange(6) % 2 == 0)
    assert list(half.case_ids) == ["c0", "c2", "c4"]
    read = read_predictions(io.BytesIO(predictions_csv(["c4", "c0", "c2"], [0.4, 0.0, 0.2])),
                            half)
    np.testing.assert_array_equal(read.scores, [0.0, 0.2, 0.4])


# Cells of digits, signs, points and exponents: Arrow casts some of them in one pass, the rest
# go through the regular expression and pandas; either way the reading is pandas'.
number_cells = st.lists(st.text("0123456789.+-eE", max_size=6) | st.sampled_from(
    ["", "NaN", "nan", "NA", "inf", "-inf", "1e999", " 1 ", "0.1", "-0", "1_0"]),
    min_size=1, max_size=30)


@SETTINGS
@given(number_cells)
def test_numbers_read_as_pandas_reads_them(cells):
    values, not_number, missing = _parse_numbers(pa.array(cells, type=pa.large_string()))
    series = pd.Series(cells, dtype=object)
    expected = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    expected_missing = ((series == "") | series.str.lower().isin(["nan", "na"])).to_numpy()
    np.testing.assert_array_equal(missing, expected_missing)
    np.testing.assert_array_equal(not_number, ~np.isfinite(expected) & ~expected_missing)
    finite = np.isfinite(expected)
    # Arrow's cast reads a number to the nearest double, as Python's float() does; pandas' own
    # parser may land one unit in the last place away ("+3E23": 2.9999999999999997e+23).
    nearest = np.array([float(cell) if ok else np.nan for cell, ok in zip(cells, finite,
                                                                          strict=True)])
    assert ((values[finite] == expected[finite]) | (values[finite] == nearest[finite])).all()


def test_only_whitespace_around_cells_is_trimmed_whatever_the_column():
    data = ("case_id,label,site\n"
            "a,1,site A\n"
            "b , 0,\u00a0site B\t\n"
            "c,1,site C\n").encode()
    truth = read_truth(io.BytesIO(data))
    assert list(truth.case_ids) == ["a", "b", "c"]
    assert list(truth.labels) == [1, 0, 1]
    assert list(truth.attributes["site"]) == ["site A", "site B", "site C"]
