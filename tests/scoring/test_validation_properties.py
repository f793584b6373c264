"""Property tests: whatever bytes arrive, reading gives a valid result or an InputError,
never another exception."""

from __future__ import annotations

import gzip
import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import InputError, read_predictions, read_truth

TRUTH = read_truth(io.BytesIO(b"case_id,label,sex\na,1,F\nb,0,M\nc,1,\n"))

# Mostly CSV-like text, so that the parser and the checks behind it are reached.
CSV_ALPHABET = st.sampled_from(list('abc,;"\n\r \t01.5-eE') + ["case_id", "score", "label",
                                                              "NaN", "inf", "é", "\x00"])
csv_like = st.lists(CSV_ALPHABET, max_size=60).map(lambda parts: "".join(parts).encode())
any_bytes = st.binary(max_size=200)
maybe_gzipped = st.tuples(st.one_of(csv_like, any_bytes), st.booleans()).map(
    lambda pair: gzip.compress(pair[0]) if pair[1] else pair[0]
)

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(maybe_gzipped)
def test_any_bytes_give_predictions_or_an_input_error(data):
    try:
        predictions = read_predictions(io.BytesIO(data), TRUTH, max_bytes=10_000)
    except InputError as error:
        assert error.problems and all(isinstance(p, str) and p for p in error.problems)
    else:
        assert predictions.scores.shape == (3,)
        assert np.isfinite(predictions.scores).all()


@SETTINGS
@given(maybe_gzipped, st.sampled_from(["binary", "multiclass", "regression"]))
def test_any_bytes_give_a_truth_or_an_input_error(data, task):
    try:
        truth = read_truth(io.BytesIO(data), task=task)
    except InputError as error:
        assert error.problems
    else:
        assert truth.n == len(set(truth.case_ids)) > 0


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d", ""]),
                          st.sampled_from(["0.2", "1", "x", "", "nan", "-1", "0"])),
                max_size=6))
def test_valid_rows_are_accepted_exactly_when_every_case_appears_once_with_a_probability(rows):
    data = ("case_id,score\n" + "".join(f"{i},{s}\n" for i, s in rows)).encode()
    valid = sorted(i for i, _ in rows) == ["a", "b", "c"] and all(
        s in ("0.2", "1", "0") for _, s in rows)
    try:
        read_predictions(io.BytesIO(data), TRUTH)
    except InputError:
        assert not valid
    else:
        assert valid
