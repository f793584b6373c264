"""The typed reading of ``scoring.io`` reads every file as reading its cells as strings does.

pyarrow reads factor columns (labels, splits, attributes) as dictionaries, numbers as float64
and binary labels as booleans, keeps case ids in its chunks, and reads a plain file from disk
in blocks. Each is a shortcut for the string reading (every cell a stripped string, then
parsed): these properties pin that the two give the same truth, the same predictions and the
same problems, whatever the cells, the chunking or the source.
"""

from __future__ import annotations

import gzip
import io
import os
import tempfile
from contextlib import contextmanager, nullcontext
from unittest import mock

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import InputError, read_predictions, read_truth
from scoring import io as sio

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

SPACES = [" ", "\t", "\xa0", "\u3000", "\x0b", "\x1c", "\u2009"]
edge = st.sampled_from(["", *SPACES])


def padded(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Cells of ``core`` with whitespace (ASCII or not) before or after, often none."""
    return st.tuples(edge, core, edge).map("".join)


label_core = st.sampled_from(["0", "1", "0.0", "1.0", "true", "FALSE", "tRuE", "False", "2",
                              "", "yes", "1.00", "01", "é"])
score_core = st.one_of(
    st.sampled_from(["0", "1", "0.5", "1e-3", ".5", "5.", "+0.25", "-0", "nan", "NaN", "inf",
                     "-inf", "Infinity", "1e999", "", "NA", "0x1", "1_0", "½", "1,5", "e5"]),
    st.text("0123456789.+-eE", min_size=1, max_size=5),
    st.floats(0, 1).map(repr),
)
attribute_core = st.sampled_from(["F", "M", "f", "", "NA", "n/a", "None", "site A", "São Paulo",
                                  "×", "x×y", "a b", "18-30"])
split_core = st.sampled_from(["public", "private", "Public", "PRIVATE", "test", ""])


def outcome(read) -> tuple[str, object]:
    """What a read gives, comparable with ``==``: its problems, or its arrays as lists."""
    try:
        result = read()
    except InputError as error:
        return "problems", error.problems
    if isinstance(result, sio.Truth):
        return "truth", (
            list(result.case_ids), result.labels.tolist(), result.labels.dtype.str,
            {name: list(values) for name, values in result.attributes.items()},
            {name: (codes.tolist(), levels)
             for name, (codes, levels) in result.attribute_codes.items()},
            None if result.split is None else list(result.split),
            {name: values.tolist() for name, values in result.raters.items()},
            result.classes, result.numbered is not None,
        )
    return "predictions", {
        name: None if (value := getattr(result, name)) is None else (value.tolist(),
                                                                     value.dtype.str)
        for name in ("scores", "labels", "probabilities", "values")
    }


@contextmanager
def as_strings():
    """Every column read as strings (the reading the typed one must agree with)."""
    arrow_columns = sio._arrow_columns
    with mock.patch.object(sio, "_arrow_columns", lambda source, header, kinds, **options:
                           arrow_columns(source, header, None, **options)):
        yield


@contextmanager
def small_blocks(size: int = 64):
    """pyarrow's blocks (and the scan's) this many bytes: many chunks for a small file."""
    with mock.patch.object(sio, "_BLOCK_BYTES", size):
        yield


@contextmanager
def on_disk(data: bytes):
    """A path to a file holding ``data`` (read by the plain-file path)."""
    handle, path = tempfile.mkstemp(suffix=".csv")
    try:
        os.write(handle, data)
        os.close(handle)
        yield path
    finally:
        os.unlink(path)


def all_ways(read, data: bytes) -> list[tuple[str, object]]:
    """The outcome of ``read(source)`` from memory and from disk, typed and as strings, in
    one block and in many."""
    outcomes = []
    with on_disk(data) as path:
        for source in (lambda: io.BytesIO(data), lambda: path):
            for reading in (nullcontext(), as_strings()):
                with reading:
                    outcomes.append(outcome(lambda source=source: read(source())))
            with small_blocks():
                outcomes.append(outcome(lambda source=source: read(source())))
    return outcomes


def rows_csv(header: list[str], rows: list[list[str]], ending: str = "\n") -> bytes:
    return (ending.join([",".join(header)] + [",".join(row) for row in rows])
            + ending).encode()


@SETTINGS
@given(
    labels=st.lists(padded(label_core), min_size=1, max_size=12),
    attributes=st.lists(padded(attribute_core), min_size=12, max_size=12),
    splits=st.lists(split_core, min_size=12, max_size=12),
    with_split=st.booleans(),
    task=st.sampled_from(["binary", "multiclass", "regression"]),
    ending=st.sampled_from(["\n", "\r\n"]),
)
def test_a_truth_reads_alike_every_way(labels, attributes, splits, with_split, task, ending):
    header = ["case_id", "label", "site"] + (["split"] if with_split else [])
    rows = [[f"c{i}", label, attributes[i]] + ([splits[i]] if with_split else [])
            for i, label in enumerate(labels)]
    if task == "regression":
        rows = [[row[0], row[1].replace("true", "1"), *row[2:]] for row in rows]
    outcomes = all_ways(lambda source: read_truth(source, task=task),
                        rows_csv(header, rows, ending))
    assert all(o == outcomes[0] for o in outcomes), outcomes


def truth_csv(prefix: str) -> bytes:
    return b"case_id,label\n" + b"".join(f"{prefix}{i},{i % 2}\n".encode() for i in range(12))


@SETTINGS
@given(
    scores=st.lists(padded(score_core), min_size=12, max_size=12),
    labels=st.one_of(st.none(), st.lists(padded(label_core), min_size=12, max_size=12)),
    order=st.permutations(list(range(12))),
    ids=st.sampled_from(["plain", "padded", "text"]),
)
def test_predictions_read_alike_every_way(scores, labels, order, ids):
    truth = read_truth(io.BytesIO(truth_csv("c" if ids != "text" else "case-x")))
    names = [f"c{i}" if ids != "text" else f"case-x{i}" for i in order]
    if ids == "padded":
        names = [f" {name}\t" if i % 3 == 0 else name for i, name in enumerate(names)]
    header = ["case_id", "score"] + ([] if labels is None else ["label"])
    rows = [[name, scores[i]] + ([] if labels is None else [labels[i]])
            for i, name in enumerate(names)]
    outcomes = all_ways(lambda source: read_predictions(source, truth), rows_csv(header, rows))
    assert all(o == outcomes[0] for o in outcomes), outcomes


def test_a_multiclass_submission_reads_alike_every_way():
    truth = read_truth(io.BytesIO(b"case_id,label\na,x\nb,y\nc,x\n"), task="multiclass")
    for data in (b"case_id,label,p_x,p_y\nb,y,0.25,0.75\na,x,1,0\nc, x ,0.5,0.5\n",
                 b"case_id,label,p_x,p_y\nb,y,0.25,nan\na,z,1,0\nc,x,0.5,0.6\n"):
        outcomes = all_ways(lambda source: read_predictions(source, truth, task="multiclass"),
                            data)
        assert all(o == outcomes[0] for o in outcomes), outcomes


cells = st.lists(st.tuples(edge, st.text("ab é×\t\xa0", max_size=3), edge).map("".join),
                 min_size=1, max_size=20)


@SETTINGS
@given(cells=cells, start=st.integers(0, 5), large=st.booleans())
def test_the_trim_check_finds_every_cell_to_trim(cells, start, large):
    column = pa.array(["x"] * start + cells, type=pa.large_string() if large else pa.string())
    column = column.slice(start)  # offsets that do not start at 0
    assert sio._trimmed(column).to_pylist() == [cell.strip() for cell in cells]
    assert sio._trimmed(column, sio._Scratch()).to_pylist() == [cell.strip() for cell in cells]


def test_a_column_without_a_space_is_not_copied():
    column = pa.array(["c1", "c22", "", "c3"])
    assert sio._trimmed(column) is column
    assert sio._trimmed(pa.array(["c1", " c2"])).to_pylist() == ["c1", "c2"]


def test_factor_levels_keep_the_order_of_first_appearance_across_chunks():
    values = ["site3", " site1", "site2", "site1", "site0 ", "NA", "n/a", "site4"] * 20
    data = rows_csv(["case_id", "label", "site"],
                    [[f"c{i}", str(i % 2), value] for i, value in enumerate(values)])
    for blocks in (64, 1 << 22):
        with small_blocks(blocks), on_disk(data) as path:
            truth = read_truth(path)
        codes, levels = truth.attribute_codes["site"]
        assert levels == ("site3", "site1", "site2", "site0", "unknown", "site4")
        assert list(truth.attributes["site"]) == [
            "unknown" if v.lower() in ("na", "n/a") else v.strip() for v in values]


def test_binary_labels_in_any_case_take_the_boolean_reading():
    data = b"case_id,label\na,TRUE\nb,false\nc,1.0\nd,0.0\ne,1\nf,0\n"
    columns = sio._read_arrow(data, ["case_id", "label"],
                              lambda header: {"label": sio.BINARY})
    assert isinstance(columns["label"], np.ndarray)
    assert columns["label"].tolist() == [1, 0, 1, 0, 1, 0]
    # A space around a label: read as a factor (stripped), to the same labels.
    spaced = sio._read_arrow(data.replace(b"TRUE", b" TRUE"), ["case_id", "label"],
                             lambda header: {"label": sio.BINARY})
    assert isinstance(spaced["label"], sio._Factor)
    assert sio._parse_binary(spaced["label"])[0].tolist() == [1, 0, 1, 0, 1, 0]


def test_numbers_that_are_not_finite_are_read_as_strings_for_their_message():
    data = b"case_id,score\na,0.5\nb,nan\n"
    columns = sio._read_arrow(data, ["case_id", "score"], lambda header: {"score": sio.NUMBER})
    assert isinstance(columns["score"], pa.ChunkedArray)
    assert columns["score"].to_pylist() == ["0.5", "nan"]
    finite = sio._read_arrow(data.replace(b"nan", b" 1e-3"), ["case_id", "score"],
                             lambda header: {"score": sio.NUMBER})
    assert finite["score"].tolist() == [0.5, 0.001]


@pytest.mark.parametrize("ids", [
    ["c1", "c+2"], ["c1", "c-2"], ["c1", "c0x2"], ["c1", "c02"], ["c1", "c2 x"], ["c1", "c1٢"],
    ["c1", "c"], ["c1", "d2"], ["1", "-2"], ["1", "0x2"],
])
def test_ids_that_are_not_prefix_and_digits_are_not_numbered(ids):
    for chunked in (False, True):
        column = pa.array(ids)
        if chunked:
            column = pa.chunked_array([column.slice(0, 1), column.slice(1)])
        assert sio.NumberedIds.of(column) is None


def test_numbered_ids_across_chunks():
    ids = pa.chunked_array([pa.array(["c10", "c0", "c7"]), pa.array([], pa.string()),
                            pa.array(["c3", "x", "c9"]).slice(0, 1)])
    numbered = sio.NumberedIds.of(ids)
    assert numbered is not None and numbered.prefix == "c" and numbered.low == 0
    order = pa.chunked_array([pa.array(["c3", "c0"]), pa.array(["c10", "c7"])])
    assert numbered.positions(order).tolist() == [3, 1, 0, 2]
    assert numbered.positions(pa.chunked_array([pa.array(["c3", "c0", "c10", "c3"])])) is None


@pytest.mark.parametrize("data, plain", [
    (b"case_id,label\r\n" + b"".join(b"c%d,1\r\n" % i for i in range(40)), True),
    (b"\r\n\ncase_id,label\na,1\n", True),  # blank lines before the header
    (b"case_id,label\n" + b"a,1\n" * 20 + b"b,1\rc,0\n", False),  # a lone CR
    (b"case_id,label\n" + b"a,1\n" * 20 + b"b,1\r", False),  # a CR at the very end
    (b"case_id,label\n" + b"a,1\n" * 20 + b'a,"1"\n', False),  # a quote
    (b"case_id,label\n" + b"a,1\n" * 20 + b"a,1\x00\n", False),
    (b"case_id,label\n" + b"a,1\n" * 20 + b"a,\xc3\xa9\n", False),  # not ASCII
    (b" \n\t\n", False),  # only whitespace: "the file is empty"
    (b"case_id,,label\na,1,2\n", False),  # a header problem: worded by the general reader
])
def test_only_a_plain_file_is_read_from_disk(data, plain):
    for blocks in (16, 17, 19, 23, 1 << 22):  # CR LF pairs split between pyarrow's reads
        with small_blocks(blocks), on_disk(data) as path:
            table = sio._read_plain_file(path, None, None, None)
        if plain:
            assert table is not None, blocks
            assert table == sio._read_table(io.BytesIO(data), None) or all(
                table[name].to_pylist() == column.to_pylist()
                for name, column in sio._read_table(io.BytesIO(data), None).items())
        else:
            assert table is None, blocks


def test_a_lazy_attribute_reads_as_its_dict():
    truth = read_truth(io.BytesIO(b"case_id,label,sex,site\na,1,F,x\nb,0,M,\nc,1,F,y\n"))
    assert isinstance(truth.attributes, sio._Attributes)
    assert list(truth.attributes) == ["sex", "site"] and len(truth.attributes) == 2
    assert dict(truth.attributes).keys() == {"sex", "site"}
    assert list(truth.attributes["site"]) == ["x", "unknown", "y"]
    assert "sex" in truth.attributes and "age" not in truth.attributes
    with pytest.raises(KeyError):
        truth.attributes["age"]
    half = truth.subset(np.array([True, False, True]))
    assert list(half.attributes["sex"]) == ["F", "F"]
    assert half.attribute_codes["sex"][0].tolist() == [0, 0]
    relabelled = truth.replace(attribute_codes={})
    assert list(relabelled.subset(np.array([False, True, True])).attributes["site"]) == [
        "unknown", "y"]


@pytest.mark.parametrize("chunks, in_order", [
    ([["c5", "c6"], ["c7"], ["c8", "c9"]], True),
    ([["c5", "c6"], ["c7"], ["c9", "c8"]], False),  # out of order from the third chunk
    ([["c5", "c6"], ["c8"], ["c9"]], False),  # a gap between chunks
    ([["c5", "c5"]], False),  # repeated: no numbering (the check words it)
])
def test_ids_in_file_order_need_no_table(chunks, in_order):
    ids = pa.chunked_array([pa.array(chunk) for chunk in chunks])
    flat = [i for chunk in chunks for i in chunk]
    numbered = sio.NumberedIds.of(ids)
    if len(set(flat)) < len(flat):
        assert numbered is None
        return
    assert (numbered.slots is None) is in_order
    shuffled = flat[::-1]
    positions = numbered.positions(pa.chunked_array([pa.array(shuffled[:1]),
                                                     pa.array(shuffled[1:])]))
    assert positions.tolist() == [flat.index(i) for i in shuffled]
    assert numbered.positions(pa.array(flat[:-1] + ["c4"])) is None
    assert numbered.positions(pa.array(flat[:-1] + [flat[0]])) is None


@pytest.mark.parametrize("data", [
    gzip.compress(b"case_id,label\na,1\nb,0\n"),
    "\ufeffcase_id,label,site\na,1,São Paulo\nb,0,x\n".encode(),  # a BOM, not ASCII
    b"case_id,,label\na,1\x00,2\n",  # a header problem and a NUL: the NUL is worded first
    b"case_id,label\na,\xff\n",  # not UTF-8
    b"\n\n",
    b"case_id,label",  # a header and nothing else
    b"case_id,label\n",
    b"case_id,label\na,1\nb",  # a short last row
    b"case_id,label\na,1,2\n",  # a long row
])
def test_odd_files_read_from_disk_as_from_memory(data):
    with on_disk(data) as path:
        assert outcome(lambda: read_truth(path)) == outcome(lambda: read_truth(io.BytesIO(data)))
        limit = len(data) - 1
        assert outcome(lambda: read_truth(path, max_bytes=limit)) == outcome(
            lambda: read_truth(io.BytesIO(data), max_bytes=limit))


def test_a_missing_file_is_worded():
    with pytest.raises(InputError) as error:
        read_truth("/nonexistent/truth.csv")
    assert error.value.problems == ["cannot read /nonexistent/truth.csv: No such file or "
                                    "directory"]
