"""Reading and validating ground-truth and prediction CSV files.

Every check runs before the first error is raised, so one :class:`~scoring.errors.InputError`
lists every problem of a file, each with a count and the first few offending case ids or rows.
Rows are numbered as a spreadsheet shows them: the header is row 1, the first case row 2.
Messages never contain a ground-truth label.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pandas as pd

from scoring.errors import InputError
from scoring.rater_columns import rater_column_problems, rater_columns

TASKS = ("binary", "multiclass", "regression")
UNKNOWN = "unknown"
# Attribute cells read as missing, and so as the group "unknown" (compared case-insensitively).
MISSING_VALUES = frozenset({"", "na", "n/a", "nan", "null", "none"})
SPLITS = ("public", "private")
BINARY_LABELS = {"0": 0, "1": 1, "0.0": 0, "1.0": 1, "false": 0, "true": 1}
SHOWN = 5  # offending ids or rows named per problem
INTERSECTION = "×"
# Bounds of the header check (``check_header``): a predictions file has a handful of columns.
MAX_HEADER_BYTES = 64_000
HEADER_MARGIN = 5  # columns beyond what the task uses, so a stray extra column gets its message


@dataclass(frozen=True)
class Truth:
    """Ground truth of a challenge, one entry per case in file order.

    ``labels`` holds 0/1 integers (binary), class names (multiclass, see ``classes``) or floats
    (regression). ``attributes`` maps each attribute column to its values as strings, missing
    values being ``"unknown"``. ``split`` is ``"public"``/``"private"`` per case, or ``None``
    when the file has no ``split`` column. ``raters`` maps each rater column (``label_<rater>``,
    full name) to that rater's labels, encoded as ``labels`` is; never attributes.
    """

    case_ids: np.ndarray
    labels: np.ndarray
    attributes: dict[str, np.ndarray]
    split: np.ndarray | None
    task: str
    classes: tuple[str, ...] | None = None
    raters: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.case_ids)

    def subset(self, mask: np.ndarray) -> Truth:
        """The cases where ``mask`` is true, in the same order."""
        return Truth(
            case_ids=self.case_ids[mask],
            labels=self.labels[mask],
            attributes={name: values[mask] for name, values in self.attributes.items()},
            split=None if self.split is None else self.split[mask],
            task=self.task,
            classes=self.classes,
            raters={name: values[mask] for name, values in self.raters.items()},
        )


@dataclass(frozen=True)
class Predictions:
    """A team's predictions aligned to the ground truth's case order.

    Binary: ``scores`` (probability of the positive class) and optionally ``labels`` (the team's
    own 0/1 decisions). Multiclass: ``labels`` (class names) and optionally ``probabilities``
    (one column per class in ``Truth.classes`` order). Regression: ``values``. Unused fields
    are ``None``.
    """

    task: str
    scores: np.ndarray | None = None
    labels: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    values: np.ndarray | None = None

    def subset(self, mask: np.ndarray) -> Predictions:
        def pick(array: np.ndarray | None) -> np.ndarray | None:
            return None if array is None else array[mask]

        return Predictions(
            task=self.task,
            scores=pick(self.scores),
            labels=pick(self.labels),
            probabilities=pick(self.probabilities),
            values=pick(self.values),
        )


def read_truth(
    source: str | os.PathLike | BinaryIO,
    *,
    task: str = "binary",
    max_bytes: int | None = None,
    classes: Sequence[str] | None = None,
) -> Truth:
    """Read a ground-truth CSV: ``case_id``, ``label``, optional ``split``, then attributes.

    Binary labels are 0/1 (also ``true``/``false`` and ``0.0``/``1.0``). Multiclass labels are
    any non-empty text; ``classes`` declares their order (needed for ordinal metrics such as
    the quadratic weighted kappa), otherwise they are sorted (numerically if all are numbers).
    Regression labels are finite numbers. Raises :class:`InputError` listing every problem.
    """
    _check_task(task)
    table = _read_table(source, max_bytes)
    header = list(table.columns)
    problems = _check_columns(
        header, required=("case_id", "label"), optional=None, expected="case_id, label"
    )
    if problems:
        raise InputError(problems)
    if len(table) == 0:
        raise InputError("the file has a header but no cases")
    for name in header:
        if INTERSECTION in name:
            problems.append(f"column name {name!r} contains {INTERSECTION!r}, which is reserved")

    ids = table["case_id"].to_numpy(dtype=object)
    problems += _check_ids(ids)
    raw = table["label"].to_numpy(dtype=object)
    labels: np.ndarray
    found_classes: tuple[str, ...] | None = None
    if task == "binary":
        labels, bad = _parse_binary(raw)
        if bad.any():
            problems.append(_rows(bad, _LABEL, "not 0 or 1 (true/false also accepted)"))
    elif task == "multiclass":
        labels = raw
        empty = labels == ""
        if empty.any():
            problems.append(_rows(empty, _LABEL, "empty"))
        present = sorted(set(labels[~empty]))
        if classes is not None:
            found_classes = tuple(str(c) for c in classes)
            undeclared = sorted(set(present) - set(found_classes))
            if undeclared:
                unknown = np.isin(labels, undeclared)
                problems.append(_rows(unknown, _LABEL, "not among the declared classes"))
        else:
            found_classes = tuple(_natural_order(present))
        if found_classes is not None and len(found_classes) < 2:
            problems.append("a multiclass task needs at least two classes")
    else:
        labels, bad_number, bad_missing = _parse_numbers(raw)
        if bad_missing.any():
            problems.append(_rows(bad_missing, _LABEL, "empty or NaN"))
        if bad_number.any():
            problems.append(_rows(bad_number, ("label is not a finite number",
                                               "labels are not finite numbers")))

    split = None
    if "split" in header:
        split = table["split"].str.lower().to_numpy(dtype=object)
        bad = ~np.isin(split, SPLITS)
        if bad.any():
            problems.append(_rows(bad, _SPLIT_VALUE, "not 'public' or 'private'"))
    # Raters (label_<rater>): reserved columns, never attributes (scoring.rater_columns).
    attribute_names, rater_names = rater_columns(header)
    raters, rater_problems = _read_raters(table, rater_names, task, found_classes)
    problems += rater_problems
    if problems:
        raise InputError(problems)

    attributes = {
        name: _attribute_values(table[name].to_numpy(dtype=object)) for name in attribute_names
    }
    return Truth(
        case_ids=ids,
        labels=labels,
        attributes=attributes,
        split=split,
        task=task,
        classes=found_classes,
        raters=raters,
    )


def _read_raters(
    table: pd.DataFrame, names: list[str], task: str, classes: tuple[str, ...] | None
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Each rater column's labels, parsed as the ``label`` column is, and the problems: a value
    outside the task's labels (for multiclass, the classes of the task) is refused."""
    problems = rater_column_problems(names, task)
    if problems:
        return {}, problems
    raters: dict[str, np.ndarray] = {}
    for name in names:
        raw = table[name].to_numpy(dtype=object)
        subject = (f"{name} value is", f"{name} values are")
        if task == "binary":
            raters[name], bad = _parse_binary(raw)
            if bad.any():
                problems.append(_rows(bad, subject, "not 0 or 1 (true/false also accepted)"))
        else:
            raters[name] = raw
            bad = ~np.isin(raw, np.array(classes or (), dtype=object))
            if bad.any():
                problems.append(_rows(bad, subject, "not one of the classes "
                                      + ", ".join(classes or ())))
    return raters, problems


def read_predictions(
    source: str | os.PathLike | BinaryIO,
    truth: Truth,
    *,
    task: str = "binary",
    max_bytes: int | None = None,
) -> Predictions:
    """Read a team's predictions and align them to ``truth``'s case order.

    Expected columns by task: binary ``case_id, score`` and optionally ``label`` (the team's
    0/1 decision; otherwise ``score >= threshold`` decides); multiclass ``case_id, label`` and
    optionally one ``p_<class>`` column per class (rows sum to 1 ± 1e-6); regression
    ``case_id, value``. Columns and rows may come in any order. Raises :class:`InputError`
    listing every problem.
    """
    _check_task(task)
    if task != truth.task:
        raise ValueError(f"predictions read for {task!r} but the ground truth is {truth.task!r}")
    if task == "binary":
        required, optional, expected = ("case_id", "score"), ("label",), "case_id, score"
        expected += " and optionally label"
    elif task == "multiclass":
        assert truth.classes is not None
        probability_columns = tuple(f"p_{c}" for c in truth.classes)
        required, optional = ("case_id", "label"), probability_columns
        expected = "case_id, label and optionally " + ", ".join(probability_columns)
    else:
        required, optional, expected = ("case_id", "value"), (), "case_id, value"
    # A hostile header (thousands of columns) is refused before any CSV reader parses it.
    table = _read_table(
        source, max_bytes, max_columns=len(required) + len(optional) + HEADER_MARGIN
    )
    header = list(table.columns)
    problems = _check_columns(header, required=required, optional=optional, expected=expected)
    if task == "multiclass":
        given = [c for c in probability_columns if c in header]
        if given and len(given) < len(probability_columns):
            absent = [c for c in probability_columns if c not in header]
            problems.append(
                "probability columns are incomplete: missing " + ", ".join(absent)
                + " (give one p_<class> column for every class, or none)"
            )
    if problems:
        raise InputError(problems)
    if len(table) == 0:
        raise InputError("the file has a header but no cases")

    ids = table["case_id"].to_numpy(dtype=object)
    problems += _check_ids(ids)
    position = pd.Index(truth.case_ids).get_indexer(ids)
    unknown = (position < 0) & (ids != "")
    if unknown.any():
        problems.append(_ids(ids[unknown], _CASE_ID, "not in the ground truth"))
    seen = np.zeros(truth.n, dtype=bool)
    seen[position[position >= 0]] = True
    if not seen.all():
        problems.append(_ids(truth.case_ids[~seen], ("case", "cases"), "missing"))

    def numbers(column: str, what: tuple[str, str]) -> np.ndarray:
        values, not_number, missing = _parse_numbers(table[column].to_numpy(dtype=object))
        one, many = what
        if missing.any():
            problems.append(_by_id(ids, missing, (f"{one} is", f"{many} are"), "empty or NaN"))
        if not_number.any():
            problems.append(_by_id(ids, not_number, (f"{one} is not a finite number",
                                                     f"{many} are not finite numbers")))
        return values

    scores = labels = probabilities = values = None
    if task == "binary":
        scores = numbers("score", ("score", "scores"))
        outside = np.isfinite(scores) & ((scores < 0) | (scores > 1))
        if outside.any():
            problems.append(_by_id(ids, outside, ("score is", "scores are"), "outside [0, 1]"))
        if "label" in header:
            labels, bad = _parse_binary(table["label"].to_numpy(dtype=object))
            if bad.any():
                problems.append(_by_id(ids, bad, _LABEL, "not 0 or 1"))
    elif task == "multiclass":
        labels = table["label"].to_numpy(dtype=object)
        bad = ~np.isin(labels, np.array(truth.classes, dtype=object))
        if bad.any():
            problems.append(
                _by_id(ids, bad, _LABEL,
                       "not one of the classes " + ", ".join(truth.classes))
            )
        if all(c in header for c in probability_columns):
            probabilities = np.column_stack(
                [numbers(c, (f"{c} value", f"{c} values")) for c in probability_columns]
            )
            finite = np.isfinite(probabilities).all(axis=1)
            outside = finite & ((probabilities < 0) | (probabilities > 1)).any(axis=1)
            if outside.any():
                problems.append(_by_id(ids, outside, _PROBABILITY, "outside [0, 1]"))
            off = finite & (np.abs(probabilities.sum(axis=1) - 1) > 1e-6)
            if off.any():
                problems.append(_by_id(ids, off, ("probability row does", "probability rows do"),
                       "not sum to 1 (± 1e-6)"))
    else:
        values = numbers("value", ("value", "values"))
    if problems:
        raise InputError(problems)

    order = np.empty(truth.n, dtype=np.int64)
    order[position] = np.arange(len(ids))
    return Predictions(
        task=task,
        scores=None if scores is None else scores[order],
        labels=None if labels is None else labels[order],
        probabilities=None if probabilities is None else probabilities[order],
        values=None if values is None else values[order],
    )


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")


def check_header(
    text: str, *, max_columns: int | None = None, max_bytes: int = MAX_HEADER_BYTES
) -> list[str]:
    """The header row's column names, checked before any CSV reader sees the file.

    Bounded work whatever the file: at most ``max_bytes`` of the first line are looked at, the
    columns are counted against ``max_columns`` (what the task can use plus a margin; ``None``:
    no bound, for an organiser's ground truth with its attributes), and empty or repeated
    names are found in one pass. Raises :class:`InputError` with every problem.
    """
    end = text.find("\n", 0, max_bytes + 1)
    if end == -1 and len(text) > max_bytes:
        raise InputError(
            f"the header (the first line) is longer than {_size(max_bytes)}; "
            "a predictions file has only a few columns"
        )
    line = text[: end if end != -1 else len(text)].rstrip("\r")
    try:
        names = next(csv.reader([line]), [])
    except csv.Error as exc:
        raise InputError(f"the header is not a valid CSV line: {exc}") from None
    if max_columns is not None and len(names) > max_columns:
        raise InputError(
            f"the header has {len(names):,} columns; this task uses at most {max_columns}"
        )
    names = [name.strip() for name in names]
    problems = [
        f"column {position} of the header has no name"
        for position, name in enumerate(names, start=1) if name == ""
    ]
    counts = Counter(name for name in names if name)
    duplicated = sorted(name for name, count in counts.items() if count > 1)
    if duplicated:
        problems.append("columns appear more than once: " + ", ".join(duplicated))
    if problems:
        raise InputError(problems)
    return names


def _read_table(
    source: str | os.PathLike | BinaryIO, max_bytes: int | None, *, max_columns: int | None = None
) -> pd.DataFrame:
    """Bytes → text → a table of stripped strings (columns named by the header)."""
    data = _read_bytes(source, max_bytes)
    if data[:2] == b"\x1f\x8b":
        # The limit holds for the CSV, compressed or not: a gzip bomb is refused once it has
        # expanded to the limit, so it never takes more memory than a plain file may.
        data = _gunzip(data, max_bytes)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the file is not UTF-8 text (invalid byte at position {exc.start}); "
            "save it as CSV with UTF-8 encoding"
        ) from None
    if not text.strip():
        raise InputError("the file is empty")
    if "\x00" in text:
        raise InputError("the file is not a CSV file (it contains NUL bytes)")
    text = text.lstrip("\r\n")  # blank lines before the header, as the reader skips them
    header = check_header(text, max_columns=max_columns)
    # pyarrow's reader first (fast, columnar); whenever it refuses the file, or a case it might
    # read differently from pandas' C reader comes up, pandas reads it and gives the message.
    table = _read_arrow(text, header)
    return _read_pandas(text, header) if table is None else table


# Python's str.strip() removes exactly these characters (str.isspace); Arrow is told the same
# set so that both readers strip cells alike (tests/scoring/test_read_table_arrow.py checks it).
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _read_arrow(text: str, header: list[str]) -> pd.DataFrame | None:
    """The table read by pyarrow.csv, or None when pandas must read it (its messages)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None  # a lone CR (old Mac line ends, or mixed with LF): pandas reads it its own way
    if '"' in text:
        return None  # quoting rules differ between the readers (mid-field, unclosed): pandas
    names = [f"c{i}" for i in range(len(header))]
    try:
        arrow = pacsv.read_csv(
            pa.py_buffer(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.large_string() for name in names},
                strings_can_be_null=False, quoted_strings_can_be_null=False, null_values=[],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    if arrow.num_columns != len(header) or arrow.num_rows == 0:
        return None
    columns = {}
    for name, column in zip(header, arrow.columns, strict=True):
        column = column.slice(1)  # the header row
        stripped = pc.utf8_trim(column, characters=WHITESPACE)
        columns[name] = stripped.to_numpy(zero_copy_only=False)
    table = pd.DataFrame(columns, copy=False)
    table.columns = header
    return table


def _read_pandas(text: str, header: list[str]) -> pd.DataFrame:
    try:
        table = pd.read_csv(
            io.StringIO(text),
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty") from None
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise InputError(f"the file is not a valid CSV file: {_parser_message(exc)}") from None
    if len(table.columns) != len(header):
        raise InputError(
            f"the file is not a valid CSV file: the header has {len(header)} columns but rows "
            f"have {len(table.columns)}"
        )
    table = table.iloc[1:].reset_index(drop=True)
    table.columns = header
    # Cells of short rows are missing (NaN): read them as empty.
    return table.apply(lambda column: column.fillna("").str.strip())


def _read_bytes(source: str | os.PathLike | BinaryIO, max_bytes: int | None) -> bytes:
    limit = -1 if max_bytes is None else max_bytes + 1
    if isinstance(source, str | os.PathLike):
        try:
            with open(source, "rb") as handle:
                data = handle.read(limit)
        except OSError as exc:
            raise InputError(f"cannot read {os.fspath(source)}: {exc.strerror}") from None
    else:
        data = source.read(limit)
    if isinstance(data, str):
        raise TypeError("open the file in binary mode ('rb')")
    if max_bytes is not None and len(data) > max_bytes:
        raise InputError(f"the file is larger than the limit of {_size(max_bytes)}")
    return bytes(data)


def _gunzip(data: bytes, limit: int | None) -> bytes:
    """Decompress every gzip member, refusing output beyond ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    try:
        while data:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            chunk = inflater.decompress(data, 0 if limit is None else limit + 1 - size)
            size += len(chunk)
            chunks.append(chunk)
            if limit is not None and size > limit:
                raise InputError(
                    f"the file expands to more than {_size(limit)} when decompressed, "
                    "over the size limit"
                )
            if not inflater.eof:
                raise InputError("the gzip file is truncated")
            data = inflater.unused_data
    except zlib.error:
        raise InputError("the file looks gzip-compressed but cannot be decompressed") from None
    return b"".join(chunks)


def _parser_message(exc: Exception) -> str:
    message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if found:
        expected, line, saw = found.groups()
        return f"row {line} has {saw} fields where the header has {expected}"
    return message.removeprefix("Error tokenizing data. C error: ")


def _check_columns(
    header: list[str],
    *,
    required: Sequence[str],
    optional: Sequence[str] | None,
    expected: str,
) -> list[str]:
    """Missing required columns and, unless ``optional`` is None (any extra allowed),
    unexpected ones: one problem that names the expected columns once."""
    missing = [name for name in required if name not in header]
    unexpected = []
    if optional is not None:
        allowed = set(required) | set(optional)
        unexpected = [name for name in header if name not in allowed]
    parts = []
    if missing:
        parts.append(("missing column " if len(missing) == 1 else "missing columns ")
                     + ", ".join(repr(name) for name in missing))
    if unexpected:
        parts.append(("unexpected column: " if len(unexpected) == 1 else "unexpected columns: ")
                     + ", ".join(unexpected))
    return [f"{'; '.join(parts)} (expected columns: {expected})"] if parts else []


def _check_ids(ids: np.ndarray) -> list[str]:
    problems = []
    empty = ids == ""
    if empty.any():
        problems.append(_rows(empty, ("row has", "rows have"), "an empty case_id"))
    series = pd.Series(ids[~empty])
    repeated = series[series.duplicated(keep="first")].unique()
    if len(repeated):
        problems.append(_ids(repeated, ("case id appears", "case ids appear"), "more than once"))
    return problems


def _parse_binary(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0/1 integers and a mask of values that are not a binary label."""
    codes = pd.Series(raw).str.lower().map(BINARY_LABELS)
    bad = codes.isna().to_numpy()
    return codes.fillna(0).to_numpy(dtype=np.int8), bad


def _parse_numbers(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Floats, a mask of non-numbers (and infinities), and a mask of empty or NaN cells."""
    cells = pd.Series(raw)
    values = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)
    missing = (cells == "").to_numpy() | cells.str.lower().isin(["nan", "na"]).to_numpy()
    not_number = ~np.isfinite(values) & ~missing
    return values, not_number, missing


def _attribute_values(raw: np.ndarray) -> np.ndarray:
    cells = pd.Series(raw)
    missing = cells.str.lower().isin(MISSING_VALUES)
    return cells.where(~missing, UNKNOWN).to_numpy(dtype=object)


def _natural_order(values: list[str]) -> list[str]:
    try:
        return sorted(values, key=float)
    except ValueError:
        return sorted(values)


def _first(items: Sequence[str], count: int) -> str:
    shown = ", ".join(str(item) for item in items[:SHOWN])
    return shown + (", …" if count > SHOWN else "")


Subject = tuple[str, str]  # the words for one and for many: ("score is", "scores are")
_LABEL: Subject = ("label is", "labels are")
_SPLIT_VALUE: Subject = ("split value is", "split values are")
_CASE_ID: Subject = ("case id is", "case ids are")
_PROBABILITY: Subject = ("probability is", "probabilities are")


def _counted(n: int, subject: Subject, rest: str) -> str:
    """"1 score is empty", "2 scores are empty": the subject agrees with the count."""
    return " ".join(part for part in (str(n), subject[0 if n == 1 else 1], rest) if part)


def _rows(mask: np.ndarray, subject: Subject, rest: str = "") -> str:
    rows = (np.flatnonzero(mask) + 2).tolist()
    return f"{_counted(len(rows), subject, rest)}, first rows: {_first(rows, len(rows))}"


def _ids(ids: Sequence[str] | np.ndarray, subject: Subject, rest: str = "") -> str:
    ids = list(ids)
    return f"{_counted(len(ids), subject, rest)}, first: {_first(ids, len(ids))}"


def _by_id(ids: np.ndarray, mask: np.ndarray, subject: Subject, rest: str = "") -> str:
    """Name offending cases by id where they have one, else by row."""
    if (ids[mask] == "").any():
        return _rows(mask, subject, rest)
    return _ids(ids[mask], subject, rest)


def _size(n_bytes: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:g} {unit}"
    return f"{n_bytes} bytes"
