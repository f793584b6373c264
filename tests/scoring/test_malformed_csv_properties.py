"""Hostile and broken CSVs, built from the ways real uploads go wrong: whatever arrives, reading
the ground truth or a team's predictions gives a valid result or an ``InputError`` whose every
problem is a non-empty message; never another exception.

``test_validation_properties.py`` feeds near-random bytes; here each file is a recognisable CSV
with one or more faults mixed in: wrong, missing, duplicated or odd headers, duplicate or empty
ids, NaN/inf/huge/negative/text numbers, stray quotes and delimiters, BOMs, UTF-16 and Latin-1,
NUL bytes, gzip (whole, truncated, or a gzip header before garbage) and mixed line endings.
"""

from __future__ import annotations

import codecs
import gzip
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scoring import InputError, read_predictions, read_truth

IDS = ["a", "b", "c", "d"]
TRUTHS = {
    "binary": read_truth(io.BytesIO(b"case_id,label,sex\na,1,F\nb,0,M\nc,1,F\nd,0,\n")),
    "multiclass": read_truth(io.BytesIO(b"case_id,label\na,x\nb,y\nc,z\nd,x\n"),
                             task="multiclass"),
    "regression": read_truth(io.BytesIO(b"case_id,label\na,1.5\nb,2\nc,-3\nd,0\n"),
                             task="regression"),
}
COLUMNS = {
    "binary": ["case_id", "score", "label"],
    "multiclass": ["case_id", "label", "p_x", "p_y", "p_z"],
    "regression": ["case_id", "value"],
}

odd_names = st.sampled_from(["case_id", "CASE_ID", " case_id", "case_id ", "score", "Score",
                             "label", "value", "split", "sex", "age", "p_x", "p_q", "", "id",
                             '"case_id"', "case_id\ufeff", "sex&age", "ünïcode", "x" * 300])
odd_ids = st.one_of(st.sampled_from(IDS), st.sampled_from(["", " a", "A", "e", "nan", "NULL",
                                                          "a\x00", "ä", '"a"', "1e3"]))
odd_values = st.one_of(
    st.sampled_from(["0", "1", "0.5", "0.25", "1.0", "", " ", "nan", "NaN", "inf", "-inf",
                     "Infinity", "1e308", "1e309", "-1e400", "9" * 400, "0x1A", "1,5", "½",
                     "true", "False", "-0", "+1", "1_000", "None", "--1", "0.5.5", "x"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


_probability = st.sampled_from(["0", "1", "0.5", "0.25", "1.0", "0.125"])
VALID = {
    "binary": {"score": _probability, "label": st.sampled_from(["0", "1"])},
    # p_x, p_y, p_z that sum to 1: only x is likely, the others split what is left.
    "multiclass": {"label": st.sampled_from(["x", "y", "z"]), "p_x": st.just("0.5"),
                   "p_y": st.just("0.25"), "p_z": st.just("0.25")},
    "regression": {"value": st.sampled_from(["0", "-1.5", "2e3", "7"])},
}


@st.composite
def csv_texts(draw, task: str) -> str:
    """A CSV of the task's columns, with faults drawn into header, rows and quoting."""
    header = list(COLUMNS[task])
    if draw(st.booleans()):
        header = draw(st.lists(st.one_of(st.sampled_from(header), odd_names),
                               min_size=0, max_size=6))
    delimiter = draw(st.sampled_from([",", ",", ",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    rows = draw(st.lists(st.lists(st.one_of(odd_ids, odd_values), min_size=0,
                                  max_size=len(header) + 2), max_size=8))
    shape = draw(st.sampled_from(["random", "near-valid", "near-valid"]))
    if shape == "near-valid":  # every case once with a plausible value, then a fault or two
        header = list(COLUMNS[task])
        delimiter = ","
        rows = [[case_id] + [draw(VALID[task][column]) for column in header[1:]]
                for case_id in draw(st.permutations(IDS))]
        for _ in range(draw(st.integers(0, 2))):
            row = draw(st.integers(0, len(rows) - 1))
            column = draw(st.integers(0, len(header) - 1))
            rows[row][column] = draw(st.one_of(odd_ids, odd_values))
    lines = [delimiter.join(header)] + [delimiter.join(row) for row in rows]
    text = newline.join(lines) + draw(st.sampled_from(["", newline, newline * 3]))
    if draw(st.integers(0, 4)) == 0:  # an unbalanced quote somewhere
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + '"' + text[cut:]
    return text


@st.composite
def encoded(draw, text: str) -> bytes:
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "utf-16", "utf-16-le",
                                                     "latin-1", "cp1252", "utf-32"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()) and encoding == "utf-8":
        data = draw(st.sampled_from([codecs.BOM_UTF8, codecs.BOM_UTF16_LE, b"\x00", b""])) + data
    wrapping = draw(st.sampled_from(["plain"] * 6 + ["gzip", "truncated gzip", "gzip header",
                                                     "double gzip"]))
    if wrapping == "gzip":
        data = gzip.compress(data)
    elif wrapping == "truncated gzip":
        packed = gzip.compress(data)
        data = packed[: draw(st.integers(0, max(len(packed) - 1, 0)))]
    elif wrapping == "gzip header":
        data = b"\x1f\x8b\x08\x00" + draw(st.binary(max_size=40))
    elif wrapping == "double gzip":
        data = gzip.compress(gzip.compress(data))
    return data


def files(task: str):
    return csv_texts(task).flatmap(encoded)


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _assert_clear(error: InputError) -> None:
    assert error.problems, "an InputError without a message"
    assert all(isinstance(p, str) and p.strip() for p in error.problems)
    assert "Traceback" not in str(error)


@SETTINGS
@given(st.sampled_from(sorted(TRUTHS)).flatmap(lambda task: st.tuples(st.just(task),
                                                                      files(task))))
def test_broken_predictions_give_predictions_or_a_clear_input_error(task_and_data):
    task, data = task_and_data
    truth = TRUTHS[task]
    try:
        predictions = read_predictions(io.BytesIO(data), truth, task=task, max_bytes=100_000)
    except InputError as error:
        _assert_clear(error)
        event(f"refused: {error.problems[0][:30]}")  # --hypothesis-show-statistics lists these
    else:
        event(f"accepted {task}")
        if task == "multiclass":
            assert set(predictions.labels) <= set(truth.classes)
        else:
            values = predictions.scores if task == "binary" else predictions.values
            assert len(values) == truth.n and np.isfinite(values).all()


@st.composite
def truth_files(draw):
    task = draw(st.sampled_from(["binary", "multiclass", "regression"]))
    header = draw(st.sampled_from([["case_id", "label"], ["case_id", "label", "split", "sex"],
                                   ["case_id", "label", "sex", "sex"], ["label", "case_id"]]))
    text = draw(csv_texts("binary").map(
        lambda t: ",".join(header) + t[t.find("\n"):] if "\n" in t else t))
    return task, draw(encoded(text))


@SETTINGS
@given(truth_files())
def test_broken_truths_give_a_truth_or_a_clear_input_error(task_and_data):
    task, data = task_and_data
    try:
        truth = read_truth(io.BytesIO(data), task=task, max_bytes=100_000)
    except InputError as error:
        _assert_clear(error)
        event(f"refused: {error.problems[0][:30]}")  # --hypothesis-show-statistics lists these
    else:
        event(f"accepted {task}")
        assert truth.n == len(set(truth.case_ids)) > 0
        assert all(case_id.strip() for case_id in truth.case_ids)


@pytest.mark.parametrize("prefix", [b"", codecs.BOM_UTF8])
@pytest.mark.parametrize("wrap", [bytes, gzip.compress])
def test_a_valid_file_with_a_bom_or_gzipped_is_read(prefix, wrap):
    """The faults above are faults: the same writer's valid output is accepted."""
    data = wrap(prefix + b'case_id,score\r\n"d",0.25\r\nc,1\r\nb,0\r\na,"0.5"\r\n')
    predictions = read_predictions(io.BytesIO(data), TRUTHS["binary"])
    assert predictions.scores.tolist() == [0.5, 0.0, 1.0, 0.25]


def test_a_gzip_bomb_is_refused_at_the_size_limit():
    bomb = gzip.compress(b"case_id,score\n" + b"a,0.5\n" * 2_000_000)
    assert len(bomb) < 100_000
    try:
        read_predictions(io.BytesIO(bomb), TRUTHS["binary"], max_bytes=100_000)
    except InputError as error:
        _assert_clear(error)
        assert any("limit" in p or "MB" in p or "large" in p for p in error.problems)
    else:
        raise AssertionError("a 12 MB file was read under a 100 kB limit")
