"""Reading and validating ground-truth and prediction CSV files.

Every check runs before the first error is raised, so one :class:`~scoring.errors.InputError`
lists every problem of a file, each with a count and the first few offending case ids or rows.
Rows are numbered as a spreadsheet shows them: the header is row 1, the first case row 2.
Messages never contain a ground-truth label.

Speed: ``pyarrow.csv`` reads a file when it accepts it (pandas' C reader otherwise), each
column as what the reader needs of it (``_read_table``'s kinds): columns with few distinct
values (splits, attributes, multiclass labels) as dictionaries, so that only their distinct
values reach Python (stripped there); binary labels as booleans and numbers as float64 when
every cell is one (any other cell, even one with a space around it, and the file is read
again with those columns as strings, which go through the string checks and
``pandas.to_numeric`` as before, so their reading and messages do not change); case ids as
strings, kept in pyarrow's chunks. A plain file is handed to pyarrow from disk, checked block
by block as it is read. pandas is imported only when a file needs it. Case ids stay in Arrow
(``Truth.case_ids`` builds Python strings on first use, ``Truth.attributes`` an attribute's
strings); predictions are aligned by number when the ids are a prefix and a number
(:class:`NumberedIds`, no lookup at all when the truth numbers its cases in order), else by
``pyarrow.compute.index_in`` against the truth's ids, which also words every id problem.
Ten million cases of numpy temporaries would each take fresh pages, which cost more than the
work on them: chunk-sized work writes into reused buffers (:class:`_Scratch`).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import os
import re
import stat
import zlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scoring.errors import InputError
from scoring.rater_columns import rater_column_problems, rater_columns
from scoring.vocabulary import TASKS

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


class _CaseIds:
    """``Truth.case_ids``: kept as given (an Arrow array from :func:`read_truth`), turned into
    a numpy array of ``str`` only when a caller reads it.

    Ten million Python strings take seconds and about 600 MB; aligning predictions, counting
    cases and naming the first few offending ids all work on the Arrow array, so a plain
    ``python -m scoring evaluate`` never builds them (docs/benchmarks.md, "Whole-process
    scoring").
    """

    def __get__(self, truth: Truth | None, owner: type | None = None) -> np.ndarray:
        if truth is None:
            raise AttributeError("case_ids")  # no class-level default: a required field
        ids = truth.__dict__.get("_case_ids_numpy")
        if ids is None:
            ids = np.array(truth.__dict__["_case_ids"].to_pylist(), dtype=object)
            truth.__dict__["_case_ids_numpy"] = ids
        return ids

    def __set__(
        self, truth: Truth, ids: np.ndarray | pa.Array | pa.ChunkedArray | Sequence[str]
    ) -> None:
        # A chunked array (as the reader gives it) is kept so: combining it would copy every
        # id, which only the hashing alignment needs (``Truth.arrow_case_ids``).
        if not isinstance(ids, pa.Array | pa.ChunkedArray):
            ids = np.asarray(ids)
            truth.__dict__["_case_ids_numpy"] = ids
        truth.__dict__["_case_ids"] = ids


class _Attributes(Mapping[str, np.ndarray]):
    """``Truth.attributes`` as :func:`read_truth` gives it: each attribute's strings are built
    from its codes (``Truth.attribute_codes``) when first read.

    The grouping works on the codes, so a plain evaluation never reads the strings: ten
    million object pointers an attribute (80 MB and a sixth of a second each) saved. Reads
    like the dict it stands for."""

    def __init__(self, codes: Mapping[str, tuple[np.ndarray, tuple[str, ...]]]) -> None:
        self._codes = dict(codes)
        self._values: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        values = self._values.get(name)
        if values is None:
            codes, levels = self._codes[name]
            values = self._values[name] = np.array(levels, dtype=object)[codes]
        return values

    def __iter__(self):
        return iter(self._codes)

    def __len__(self) -> int:
        return len(self._codes)

    def __repr__(self) -> str:
        return repr(dict(self))

    def subset(
        self, mask: np.ndarray, codes: Mapping[str, tuple[np.ndarray, tuple[str, ...]]],
        of: Mapping[str, tuple[np.ndarray, tuple[str, ...]]],
    ) -> _Attributes:
        """The cases where ``mask`` is true; ``codes`` are ``of`` (the truth's attribute
        codes) subset already, used when they are the codes these strings are built from."""
        if self._codes.keys() == of.keys() and all(
            self._codes[name] is of[name] for name in of
        ):
            return _Attributes(codes)
        return _Attributes({name: (values[mask], levels)
                            for name, (values, levels) in self._codes.items()})


@dataclass(frozen=True)
class Truth:
    """Ground truth of a challenge, one entry per case in file order.

    ``case_ids`` may be given as a numpy array, a sequence of strings or an Arrow string array
    (what :func:`read_truth` keeps); reading it gives a numpy array of ``str`` (built on first
    use). ``labels`` holds 0/1 integers (binary), class names (multiclass, see ``classes``) or
    floats (regression). ``attributes`` maps each attribute column to its values as strings,
    missing values being ``"unknown"``. ``split`` is ``"public"``/``"private"`` per case, or
    ``None`` when the file has no ``split`` column. ``raters`` maps each rater column
    (``label_<rater>``, full name) to that rater's labels, encoded as ``labels`` is; never
    attributes.

    Optional, filled by :func:`read_truth` so that later steps need not redo the work:
    ``attribute_codes`` maps an attribute to (integer code of each case, the distinct values
    the codes index, in order of first appearance), which the grouping uses instead of
    factorising the strings again (``attributes`` then builds an attribute's strings from
    them when it is first read); ``numbered`` is set when the case ids are numbers behind
    one prefix (:class:`NumberedIds`), which predictions are then aligned by.

    Use :meth:`replace` rather than ``dataclasses.replace``, which would build the strings.
    """

    case_ids: np.ndarray = _CaseIds()  # type: ignore[assignment]  # see _CaseIds
    labels: np.ndarray
    attributes: dict[str, np.ndarray]
    split: np.ndarray | None
    task: str
    classes: tuple[str, ...] | None = None
    raters: dict[str, np.ndarray] = field(default_factory=dict)
    attribute_codes: dict[str, tuple[np.ndarray, tuple[str, ...]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    numbered: NumberedIds | None = field(default=None, repr=False, compare=False)

    @property
    def n(self) -> int:
        return len(self.__dict__["_case_ids"])

    def arrow_case_ids(self) -> pa.Array:
        """The case ids as an Arrow string array (no Python string is built)."""
        ids = self.__dict__["_case_ids"]
        if isinstance(ids, pa.Array):
            return ids
        if isinstance(ids, pa.ChunkedArray):
            ids = _combined(ids)
        else:
            ids = pa.array(ids.tolist(), type=pa.large_string())
        self.__dict__["_case_ids"] = ids
        return ids

    def replace(self, **changes) -> Truth:
        """A copy with ``changes`` (fields by name), keeping the case ids as they are held:
        ``dataclasses.replace`` would read ``case_ids`` and so build every string."""
        if "case_ids" in changes:
            changes.setdefault("numbered", None)
        else:
            changes["case_ids"] = self.__dict__["_case_ids"]
        return dataclasses.replace(self, **changes)

    def subset(self, mask: np.ndarray) -> Truth:
        """The cases where ``mask`` is true, in the same order."""
        ids = self.__dict__["_case_ids"]
        if isinstance(ids, pa.Array | pa.ChunkedArray):
            mask = np.asarray(mask)
            ids = (ids.filter(_arrow_mask(mask)) if mask.dtype == bool
                   else ids.take(_arrow_indices(mask)))
        else:
            ids = ids[mask]
        codes = {name: (values[mask], levels)
                 for name, (values, levels) in self.attribute_codes.items()}
        attributes = self.attributes
        return Truth(
            case_ids=ids,
            labels=self.labels[mask],
            attributes=(attributes.subset(mask, codes, self.attribute_codes)
                        if isinstance(attributes, _Attributes)
                        else {name: values[mask] for name, values in attributes.items()}),
            split=None if self.split is None else self.split[mask],
            task=self.task,
            classes=self.classes,
            raters={name: values[mask] for name, values in self.raters.items()},
            attribute_codes=codes,
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


# Case ids written as a prefix and a number ("c0" … "c9999999", or plain "1042"): at most 18
# digits (an int64), no leading zero, so that each number is one id and "007" is never "7".
_MAX_DIGITS = 18
# The table of positions by number is used while the numbers are this dense (a larger spread
# falls back to hashing the ids); int32 positions, so 4 bytes a slot.
_SLOTS_PER_CASE = 4


class _Scratch:
    """Buffers reused from one chunk of a column to the next.

    A numpy temporary of a chunk's size (a megabyte) is handed back to the system when it is
    freed and takes fresh pages the next time; on this kind of VM a fresh page costs many
    times the arithmetic done on it (docs/benchmarks.md, "Whole-process scoring"). So the
    per-chunk work writes into these (``out=``) instead."""

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, dtype: type, n: int) -> np.ndarray:
        """A buffer of ``n`` items, contents undefined; the same memory for the same name."""
        buffer = self._buffers.get(name)
        if buffer is None or len(buffer) < n:
            buffer = self._buffers[name] = np.empty(n, dtype=dtype)
        return buffer[:n]


@dataclass(frozen=True)
class NumberedIds:
    """Unique case ids that are one ``prefix`` followed by a number: predictions are aligned by
    integer arithmetic (``slots[number - low]`` is a case's position) instead of hashing ten
    million strings. Built by :meth:`of`, which returns None for any other ids.

    ``slots`` is None when the ids are numbered in file order, ``low``, ``low + 1`` …: a
    case's position is then its number less ``low``, and aligning shuffled predictions
    looks nothing up (a random read of a table as large as the cases, per case)."""

    prefix: str
    low: int
    cases: int
    slots: np.ndarray | None = field(repr=False)  # position of the case numbered low + i, or -1

    @classmethod
    def of(cls, ids: pa.Array | pa.ChunkedArray) -> NumberedIds | None:
        """The numbering of ``ids``, or None when they are not all prefix + number, are
        repeated, or spread too thinly (the other ids go through :func:`_align`)."""
        if len(ids) == 0:
            return None
        first = ids[0].as_py()
        prefix = first.rstrip("0123456789")
        if prefix == first or not prefix.isascii():
            return None
        # While the numbers go up by one from the first, none is kept: they are the positions.
        numbers: np.ndarray | None = None
        start: int | None = None
        scratch = _Scratch()
        at = 0
        for chunk in _chunks(ids):
            part = _id_numbers(chunk, prefix, scratch)
            if part is None:
                return None
            if numbers is None:
                start = int(part[0]) if start is None else start
                step = scratch.get("step", np.int64, len(part) - 1)
                np.subtract(part[1:], part[:-1], out=step)
                if part[0] != start + at or (len(step) and not step.min() == step.max() == 1):
                    numbers = np.empty(len(ids), dtype=np.int64)
                    numbers[:at] = np.arange(start, start + at)
            if numbers is not None:
                numbers[at: at + len(part)] = part
            at += len(part)
        if numbers is None:
            assert start is not None
            return cls(prefix, start, len(ids), None)
        low, high = int(numbers.min()), int(numbers.max())
        if high - low >= _SLOTS_PER_CASE * len(ids) + 1024:
            return None
        slots = np.full(high - low + 1, -1, dtype=np.int32)
        numbers -= low
        slots[numbers] = np.arange(len(ids), dtype=np.int32)
        if np.count_nonzero(slots >= 0) != len(ids):
            return None  # a repeated id: _check_ids words the message
        return cls(prefix, low, len(ids), slots)

    def positions(self, ids: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
        """Each id's case position when ``ids`` are exactly the cases, in any order; None
        otherwise (an unknown, missing, repeated or differently written id), for
        :func:`_align` to find and word every problem.

        Chunk by chunk (as the reader gives them), so that the numbers of ten million ids
        are never held at once: only the positions are."""
        if len(ids) != self.cases:
            return None
        position = np.empty(len(ids), dtype=np.int64)
        scratch = _Scratch()
        size = self.cases if self.slots is None else len(self.slots)
        at = 0
        for chunk in _chunks(ids):
            numbers = _id_numbers(chunk, self.prefix, scratch)
            if numbers is None:
                return None
            part = position[at: at + len(numbers)]
            slot = part if self.slots is None else scratch.get("slot", np.int64, len(numbers))
            np.subtract(numbers, self.low, out=slot)
            if slot.min() < 0 or slot.max() >= size:
                return None
            if self.slots is not None:
                found = scratch.get("found", np.int32, len(numbers))
                np.take(self.slots, slot, out=found)
                if found.min() < 0:
                    return None
                part[...] = found
            at += len(numbers)
        seen = np.zeros(len(ids), dtype=bool)
        seen[position] = True
        if not seen.all():
            return None  # a repeated id, so some case is missing
        return position


def _chunks(column: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    """The non-empty pieces of a column, one piece for an array."""
    pieces = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    return [piece for piece in pieces if len(piece)]


def _combined(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One Arrow array of a (chunked) string column: a copy of every cell, for the checks that
    need the whole column at once (hashing, messages). Large offsets beyond 2 GB of text."""
    if isinstance(column, pa.Array):
        return column
    if pa.types.is_string(column.type) and sum(
        chunk.nbytes for chunk in column.chunks
    ) >= 2**31 - 1:
        column = column.cast(pa.large_string())
    if column.num_chunks == 1:
        return column.chunk(0)
    return column.combine_chunks()


def _id_numbers(ids: pa.Array, prefix: str, scratch: _Scratch) -> np.ndarray | None:
    """The numbers after ``prefix`` (ASCII) when every id of ``ids`` (one chunk) is ``prefix``
    + digits without a leading zero; None as soon as one is not. A read-only view.

    Arrow's cast reads the numbers once each cell's prefix is written over with zeros (in a
    copy of the chunk's bytes). It accepts a minus sign, "0x" and digits only, and the first
    digit is checked here to be 1-9 or a lone 0, so only prefix + digits are read."""
    if ids.null_count or (prefix and not pc.all(pc.starts_with(ids, prefix)).as_py()):
        return None
    starts, ends = _offsets(ids)
    n, skip = len(ids), len(prefix)
    size = scratch.get("size", starts.dtype, n)
    np.subtract(ends, starts, out=size)
    if size.min() < skip + 1 or size.max() > skip + _MAX_DIGITS:
        return None
    data = np.frombuffer(ids.buffers()[2], np.uint8)
    where = scratch.get("where", np.intp, n)
    np.add(starts, skip, out=where)
    lead = scratch.get("lead", np.uint8, n)
    np.take(data, where, out=lead)
    np.subtract(lead, ord("1"), out=lead)  # "1"-"9" → 0-8, any other byte above (unsigned)
    refused = scratch.get("refused", bool, n)
    np.greater(lead, 8, out=refused)
    if refused.any():  # a zero, alone (the number 0) or leading; or no digit at all
        zero = (ord("0") - ord("1")) % 256
        if (refused & ~((lead == zero) & (size == skip + 1))).any():
            return None
    if skip:
        end = int(ends[-1])
        copy = scratch.get("bytes", np.uint8, end)
        np.copyto(copy, data[:end])
        for i in range(skip):
            np.add(starts, i, out=where)
            copy[where] = ord("0")
        ids = pa.Array.from_buffers(ids.type, n, [None, ids.buffers()[1], pa.py_buffer(copy)],
                                    offset=ids.offset)
    try:
        numbers = pc.cast(ids, pa.int64())
    except pa.ArrowInvalid:
        return None  # a byte besides digits after the first digit
    return np.frombuffer(numbers.buffers()[1], np.int64)[numbers.offset: numbers.offset + n]


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

    def kinds(header: list[str]) -> dict[str, str]:
        # Every column but the ids has few distinct values, save regression labels.
        kinds = {name: FACTOR for name in header if name != "case_id"}
        raters = rater_columns(header)[1]
        if task == "regression":
            kinds["label"] = NUMBER
            kinds.update((name, TEXT) for name in raters)  # refused
        elif task == "binary":
            kinds.update((name, BINARY) for name in ("label", *raters))
        return kinds

    table = _read_table(source, max_bytes, kinds=kinds)
    header = list(table)
    problems = _check_columns(
        header, required=("case_id", "label"), optional=None, expected="case_id, label"
    )
    if problems:
        raise InputError(problems)
    if len(table["case_id"]) == 0:
        raise InputError("the file has a header but no cases")
    for name in header:
        if INTERSECTION in name:
            problems.append(f"column name {name!r} contains {INTERSECTION!r}, which is reserved")

    # Ids numbered behind one prefix are unique and non-empty by construction; any other
    # ids (or a repeated number) get the full check and its messages.
    numbered = NumberedIds.of(table["case_id"])
    if numbered is None:
        table["case_id"] = _combined(table["case_id"])
        problems += _check_ids(table["case_id"])
    labels: np.ndarray
    found_classes: tuple[str, ...] | None = None
    if task == "binary":
        labels, bad = _parse_binary(table["label"])
        if bad.any():
            problems.append(_rows(bad, _LABEL, "not 0 or 1 (true/false also accepted)"))
    elif task == "multiclass":
        labels = _objects(table["label"])
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
        labels, bad_number, bad_missing = _parse_numbers(table["label"])
        if bad_missing.any():
            problems.append(_rows(bad_missing, _LABEL, "empty or NaN"))
        if bad_number.any():
            problems.append(_rows(bad_number, ("label is not a finite number",
                                               "labels are not finite numbers")))

    split = None
    if "split" in header:
        split, bad = _lookup(table["split"], lambda value: value.lower(), dtype=object,
                             bad=lambda value: value.lower() not in SPLITS)
        if bad.any():
            problems.append(_rows(bad, _SPLIT_VALUE, "not 'public' or 'private'"))
    # Raters (label_<rater>): reserved columns, never attributes (scoring.rater_columns).
    attribute_names, rater_names = rater_columns(header)
    raters, rater_problems = _read_raters(table, rater_names, task, found_classes)
    problems += rater_problems
    if problems:
        raise InputError(problems)

    codes = {name: _attribute_codes(table[name]) for name in attribute_names}
    truth = Truth(
        attribute_codes=codes,
        case_ids=table["case_id"],
        numbered=numbered,
        labels=labels,
        attributes=_Attributes(codes),
        split=split,
        task=task,
        classes=found_classes,
        raters=raters,
    )
    del table  # the columns: handed back before the caller goes on
    _release_memory()
    return truth


def _read_raters(
    table: dict[str, Column], names: list[str], task: str, classes: tuple[str, ...] | None
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Each rater column's labels, parsed as the ``label`` column is, and the problems: a value
    outside the task's labels (for multiclass, the classes of the task) is refused."""
    problems = rater_column_problems(names, task)
    if problems:
        return {}, problems
    raters: dict[str, np.ndarray] = {}
    for name in names:
        subject = (f"{name} value is", f"{name} values are")
        if task == "binary":
            raters[name], bad = _parse_binary(table[name])
            if bad.any():
                problems.append(_rows(bad, subject, "not 0 or 1 (true/false also accepted)"))
        else:
            raters[name] = raw = _objects(table[name])
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
    # The ids are text; labels have few distinct values; everything else is a number.
    kinds = dict.fromkeys((*required, *optional), NUMBER)
    kinds.update(case_id=TEXT, label=BINARY if task == "binary" else FACTOR)
    # A hostile header (thousands of columns) is refused before any CSV reader parses it.
    table = _read_table(
        source, max_bytes, max_columns=len(required) + len(optional) + HEADER_MARGIN,
        kinds=lambda header: kinds,
    )
    header = list(table)
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
    ids = table["case_id"]
    if len(ids) == 0:
        raise InputError("the file has a header but no cases")

    position = None if truth.numbered is None else truth.numbered.positions(ids)
    if position is None:
        ids = _combined(ids)
        position, alignment_problems = _align(truth, ids)
        problems += alignment_problems

    def numbers(column: str, what: tuple[str, str]) -> np.ndarray:
        values, not_number, missing = _parse_numbers(table[column])
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
            labels, bad = _parse_binary(table["label"])
            if bad.any():
                problems.append(_by_id(ids, bad, _LABEL, "not 0 or 1"))
    elif task == "multiclass":
        labels = _objects(table["label"])
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

    table.clear()  # the columns: handed back before the caller goes on
    _release_memory()

    def aligned(read: np.ndarray | None) -> np.ndarray | None:
        # Every case once (no problem above): row i is the case at position[i].
        if read is None:
            return None
        cases = np.empty_like(read)
        cases[position] = read
        return cases

    return Predictions(
        task=task,
        scores=aligned(scores),
        labels=aligned(labels),
        probabilities=aligned(probabilities),
        values=aligned(values),
    )


def _align(truth: Truth, ids: pa.Array) -> tuple[np.ndarray, list[str]]:
    """Each prediction's case position (−1 for an id the truth does not have) and the id
    problems: empty, repeated, unknown and missing ids, each counted with its first ids.

    ``pyarrow.compute.index_in`` hashes the truth's ids once and looks these up; an unknown id
    gets a code after the truth's (its number among the unknown ids), so that repeated
    unknown ids are found with the known ones."""
    n = truth.n
    truth_ids = truth.arrow_case_ids()
    if truth_ids.type != ids.type:
        truth_ids = truth_ids.cast(ids.type)
    found = pc.index_in(ids, value_set=truth_ids)
    position = _numpy(found).astype(np.int64)  # (fill_null would import pandas)
    unknown = _numpy(pc.is_null(found))
    position[unknown] = -1
    codes = position.copy()
    if unknown.any():
        others = pc.dictionary_encode(ids.filter(_arrow_mask(unknown)))
        codes[unknown] = n + _numpy(others.indices)
    problems = _check_ids(ids, codes)
    named = unknown & (_numpy(pc.binary_length(ids)) > 0)
    if named.any():
        problems.append(_ids(_pick(ids, named), _CASE_ID, "not in the ground truth"))
    seen = np.zeros(n, dtype=bool)
    seen[position[~unknown]] = True
    if not seen.all():
        problems.append(_ids(_pick(truth_ids, ~seen), ("case", "cases"), "missing"))
    return position, problems


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


# How the reader holds a column (``_read_table``'s ``kinds``; any other column is TEXT):
# TEXT: Arrow strings (case ids), chunked as pyarrow read them; FACTOR: a :class:`_Factor`
# (splits, attributes, multiclass labels: few distinct values, which are all Python looks
# at); NUMBER: a float64 numpy array when pyarrow reads every cell as a finite number;
# BINARY: an int8 numpy array of 0/1 when every cell is exactly a binary label
# (``BINARY_LABELS``, any case). A NUMBER column that is not so is read as strings, a BINARY
# one as a FACTOR, for :func:`_parse_numbers` and :func:`_parse_binary` to read and word as
# before. pandas' reader gives strings for all.
TEXT, FACTOR, NUMBER, BINARY = "text", "factor", "number", "binary"
Kinds = Callable[[list[str]], Mapping[str, str]]  # the header → a kind by column name
def _spellings(word: str) -> list[str]:
    """``word`` in every mix of upper and lower case (pyarrow matches cells exactly)."""
    return ["".join(letters) for letters in itertools.product(
        *[(c.lower(), c.upper()) if c.isalpha() else (c,) for c in word])]


# The cells pyarrow reads as a BINARY column's 1 and 0: exactly the keys of BINARY_LABELS,
# in any case (what _parse_binary reads, before stripping: a cell with a space around it
# fails pyarrow's match, so the column is read again as a FACTOR and stripped).
_TRUE_CELLS = [s for label, value in BINARY_LABELS.items() if value for s in _spellings(label)]
_FALSE_CELLS = [s for label, value in BINARY_LABELS.items() if not value
                for s in _spellings(label)]
_ARROW_TYPES = {TEXT: pa.string(), FACTOR: pa.dictionary(pa.int32(), pa.string()),
                NUMBER: pa.float64(), BINARY: pa.bool_()}
_UNTYPED = {NUMBER: TEXT, BINARY: FACTOR}  # how a kind is read when its typed read failed
# pyarrow reads and parses a file in blocks of this size, on its threads (a plain file's
# checks run on each block as it is read). Small enough that every block's buffers are reused
# from the pool (a fresh page costs more than the parse of its bytes), large enough for the
# threads.
_BLOCK_BYTES = 1 << 22


@dataclass(frozen=True)
class _Factor:
    """A column as the code of each cell (int32) and the distinct stripped ``values`` the codes
    index, in order of first appearance: ``pyarrow.compute.dictionary_encode`` of the stripped
    strings, without the strings."""

    codes: np.ndarray
    values: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.codes)

    @classmethod
    def of(cls, column: pa.Array | pa.ChunkedArray | _Factor) -> _Factor:
        """The factor of a column read as strings (pandas' reader; already stripped)."""
        if isinstance(column, _Factor):
            return column
        return cls.of_chunks(pc.dictionary_encode(column), len(column))

    @classmethod
    def of_chunks(cls, column: pa.Array | pa.ChunkedArray, n: int) -> _Factor:
        """The factor of dictionary-encoded chunks (each with its own dictionary, in order of
        first appearance, as pyarrow's reader and ``dictionary_encode`` give them): each
        chunk's values are stripped and numbered in one table, so equal cells (once
        stripped) share a code and the order is that of first appearance in the file."""
        codes = np.empty(n, dtype=np.int32)
        position: dict[str, int] = {}
        at = 0
        for chunk in _chunks(column):
            remap = np.array([position.setdefault(cell.strip(), len(position))
                              for cell in chunk.dictionary.to_pylist()], dtype=np.int32)
            indices = chunk.indices
            np.take(remap, np.frombuffer(indices.buffers()[1], np.int32)[
                indices.offset: indices.offset + len(indices)], out=codes[at: at + len(chunk)])
            at += len(chunk)
        return cls(codes, tuple(position))

    def objects(self) -> np.ndarray:
        """The cells as the numpy array of ``str`` the rest of the engine holds."""
        return np.array(self.values, dtype=object)[self.codes]


Column = pa.Array | pa.ChunkedArray | np.ndarray | _Factor  # a column as _read_table holds it


def _read_table(
    source: str | os.PathLike | BinaryIO,
    max_bytes: int | None,
    *,
    max_columns: int | None = None,
    kinds: Kinds | None = None,
) -> dict[str, Column]:
    """Bytes → a table of stripped cells, named by the header, each column held as ``kinds``
    says (``TEXT`` … above; all TEXT by default)."""
    if isinstance(source, str | os.PathLike):
        table = _read_plain_file(source, max_bytes, max_columns, kinds)
        if table is not None:
            return table
    data = _read_bytes(source, max_bytes)
    if data[:2] == b"\x1f\x8b":
        # The limit holds for the CSV, compressed or not: a gzip bomb is refused once it has
        # expanded to the limit, so it never takes more memory than a plain file may.
        data = _gunzip(data, max_bytes)
    # ASCII is UTF-8 already: only other files are decoded (to word a bad byte's position).
    text: str | bytes = data
    if not data.isascii():
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"the file is not UTF-8 text (invalid byte at position {exc.start}); "
                "save it as CSV with UTF-8 encoding"
            ) from None
    # (A search for the first other character: strip() would copy the whole file.)
    if (_NOT_WHITESPACE if isinstance(text, str) else _NOT_ASCII_WHITESPACE).search(text) is None:
        raise InputError("the file is empty")
    if ("\x00" if isinstance(text, str) else b"\x00") in text:
        raise InputError("the file is not a CSV file (it contains NUL bytes)")
    # Blank lines before the header, as the reader skips them.
    text = text.lstrip("\r\n" if isinstance(text, str) else b"\r\n")
    first = text[: MAX_HEADER_BYTES + 1]
    header = check_header(first if isinstance(first, str) else first.decode("ascii"),
                          max_columns=max_columns)
    # pyarrow's reader first (fast, columnar); whenever it refuses the file, or a case it might
    # read differently from pandas' C reader comes up, pandas reads it and gives the message.
    table = _read_arrow(text, header, kinds)
    if table is None:
        table = _read_pandas(text if isinstance(text, str) else text.decode("ascii"), header)
    return table


def _read_plain_file(
    path: str | os.PathLike, max_bytes: int | None, max_columns: int | None, kinds: Kinds | None
) -> dict[str, Column] | None:
    """The table of a plain file (a regular file, ASCII, no NUL, no quote, no lone CR, within
    the limit, a valid header) read by pyarrow from the file itself, in blocks; None for any
    other file, which :func:`_read_table` then reads whole and words. Reading the file into
    one bytes object would take as many fresh pages as it has bytes (a third of a second at
    ten million cases); here each block is checked as pyarrow reads it (:class:`_PlainFile`).
    """
    try:
        with open(path, "rb") as handle:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode) or (
                max_bytes is not None and status.st_size > max_bytes
            ):
                return None
            head = handle.read(max(_BLOCK_BYTES, MAX_HEADER_BYTES + 1))
            start = len(head) - len(head.lstrip(b"\r\n"))  # the blank lines before the header
            handle.seek(start)
            first = handle.read(MAX_HEADER_BYTES + 1)
    except OSError:
        return None  # _read_bytes words it
    if start == len(head) or _NOT_ASCII_WHITESPACE.search(head) is None or not first.isascii():
        return None  # blank or empty, or not ASCII: the general reader words it
    try:
        header = check_header(first.decode("ascii"), max_columns=max_columns)
    except InputError:
        return None  # worded by the general reader, after the checks it makes first
    streams: list[_PlainFile] = []

    def stream() -> pa.NativeFile:
        streams.append(_PlainFile(path, start))
        return pa.PythonFile(streams[-1], mode="r")

    try:
        return _arrow_columns(stream, header, kinds, accepted=lambda: streams[-1].plain())
    except (_NotPlain, OSError):
        return None
    finally:
        for opened in streams:
            opened.close()


class _NotPlain(Exception):
    """A byte that makes a file no plain file (:class:`_PlainFile`): pyarrow's read stops."""


class _PlainFile(io.RawIOBase):
    """A file from ``start`` (its header) on, as pyarrow reads it, checked block by block for
    what :func:`_read_table` and :func:`_read_arrow` look for in a whole file: a byte that is
    not ASCII, a NUL or a quote raises :class:`_NotPlain`; :meth:`plain` says at the end
    whether every CR was followed by a LF. The file is read once, into pyarrow's blocks."""

    def __init__(self, path: str | os.PathLike, start: int) -> None:
        super().__init__()
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by close()
        self._file.seek(start)
        self._returns = self._pairs = 0  # CR bytes, and CR LF pairs
        self._last = 0  # the byte before the block

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        part = self._file.read(size)
        if not part:
            return part
        if not part.isascii() or b"\x00" in part or b'"' in part:
            raise _NotPlain
        if b"\r" in part:
            self._returns += part.count(b"\r")
            self._pairs += part.count(b"\r\n")
        if self._last == ord("\r") and part[0] == ord("\n"):
            self._pairs += 1
        self._last = part[-1]
        return part

    def plain(self) -> bool:
        """Whether every CR read was the start of a CR LF (a lone CR: pandas reads the file)."""
        return self._returns == self._pairs

    def close(self) -> None:
        self._file.close()
        super().close()


# Python's str.strip() removes exactly these characters (str.isspace); Arrow is told the same
# set so that both readers strip cells alike (tests/scoring/test_read_table_arrow.py checks it).
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_ASCII_WHITESPACE = "".join(c for c in WHITESPACE if c.isascii()).encode()
_NOT_WHITESPACE = re.compile(f"[^{re.escape(WHITESPACE)}]")
_NOT_ASCII_WHITESPACE = re.compile(b"[^" + re.escape(_ASCII_WHITESPACE) + b"]")
# Bytes that may begin or end a cell that needs trimming: ASCII whitespace, and every non-ASCII
# byte (the UTF-8 form of U+00A0 and the other non-ASCII spaces uses only such bytes).
_EDGE_BYTES = np.zeros(256, dtype=bool)
_EDGE_BYTES[list(_ASCII_WHITESPACE)] = True
_EDGE_BYTES[0x80:] = True
_LAST_ASCII_SPACE = max(_ASCII_WHITESPACE)  # (a space, 0x20: every ASCII space is at most it)


def _read_arrow(
    text: str | bytes, header: list[str], kinds: Kinds | None = None
) -> dict[str, Column] | None:
    """The columns read by pyarrow.csv, or None when pandas must read it (its messages).

    ``text`` is the file after the blank lines before its header, as text or as its UTF-8
    bytes (the checks below look at ASCII bytes only, which encoding leaves as they are)."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    del text
    if b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n"):
        return None  # a lone CR (old Mac line ends, or mixed with LF): pandas reads it its own way
    if b'"' in raw:
        return None  # quoting rules differ between the readers (mid-field, unclosed): pandas
    return _arrow_columns(lambda: pa.py_buffer(raw), header, kinds)


def _arrow_columns(
    source: Callable[[], pa.Buffer | pa.NativeFile],
    header: list[str],
    kinds: Kinds | None,
    accepted: Callable[[], bool] = lambda: True,
) -> dict[str, Column] | None:
    """pyarrow.csv's reading of ``source()`` (the file from its header on, without a quote or a
    lone CR), each column held as ``kinds`` says; None when pyarrow refuses the file, or when
    ``accepted()`` (asked after each read) says the file was not what it should be.

    NUMBER columns are first read as float64; when a cell is no number for pyarrow (or not a
    finite one), the file is read again with them as strings, which :func:`_parse_numbers`
    reads and words as it always has."""
    import pyarrow.csv as pacsv

    wanted = dict(kinds(header)) if kinds is not None else {}
    kind = [wanted.get(name, TEXT) for name in header]
    names = [f"c{i}" for i in range(len(header))]
    for typed in (True, False) if {NUMBER, BINARY} & set(kind) else (False,):
        types = {name: _ARROW_TYPES[k if typed else _UNTYPED.get(k, k)]
                 for name, k in zip(names, kind, strict=True)}
        try:
            arrow = pacsv.read_csv(
                source(),
                # skip_rows: the header (checked already); rows hold the header's fields.
                read_options=pacsv.ReadOptions(column_names=names, skip_rows=1,
                                               block_size=_BLOCK_BYTES),
                # No quote in the file, so a line end always ends a row: the parser may split
                # the file into blocks and parse them in parallel.
                parse_options=pacsv.ParseOptions(newlines_in_values=False,
                                                  ignore_empty_lines=True),
                convert_options=pacsv.ConvertOptions(
                    column_types=types, strings_can_be_null=False,
                    quoted_strings_can_be_null=False, null_values=[],
                    true_values=_TRUE_CELLS, false_values=_FALSE_CELLS,
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowException):
            continue
        if arrow.num_columns != len(header) or not accepted():
            return None
        columns: dict[str, Column] | None = {}
        scratch = _Scratch()
        for name, k in zip(header, kind, strict=True):
            # One column at a time out of the table, so that each is freed once converted.
            column, arrow = arrow.column(0), arrow.drop_columns([arrow.column_names[0]])
            if k == FACTOR or (k == BINARY and not typed):
                columns[name] = _Factor.of_chunks(column, len(column))
            elif k == NUMBER and typed:
                values = _float_values(column, scratch)
                if values is None:
                    columns = None  # not every cell a finite number: read again as strings
                    break
                columns[name] = values
            elif k == BINARY:
                columns[name] = _binary_values(column)
            else:
                columns[name] = pa.chunked_array(
                    [_trimmed(chunk, scratch) for chunk in column.chunks], type=column.type)
            del column
        del arrow
        _release_memory()
        if columns is not None:
            return columns
    return None


def _binary_values(column: pa.ChunkedArray) -> np.ndarray:
    """A boolean column (no null: an empty cell is no binary label) as 0/1 int8."""
    values = np.empty(len(column), dtype=np.int8)
    at = 0
    for chunk in _chunks(column):
        bits = np.unpackbits(np.frombuffer(chunk.buffers()[1], np.uint8), bitorder="little",
                             count=chunk.offset + len(chunk))
        values[at: at + len(chunk)] = bits[chunk.offset:]
        at += len(chunk)
    return values


def _float_values(column: pa.ChunkedArray, scratch: _Scratch) -> np.ndarray | None:
    """A float64 column as one numpy array, or None when a cell is null or not finite (the
    cases whose reading and message :func:`_parse_numbers` owns)."""
    if column.null_count:
        return None
    values = np.empty(len(column), dtype=np.float64)
    at = 0
    for chunk in _chunks(column):
        part = np.frombuffer(chunk.buffers()[1], np.float64)[chunk.offset: chunk.offset
                                                                + len(chunk)]
        finite = scratch.get("finite", bool, len(part))
        if not np.isfinite(part, out=finite).all():
            return None
        values[at: at + len(part)] = part
        at += len(part)
    return values


def _trimmed(column: pa.Array, scratch: _Scratch | None = None) -> pa.Array:
    """The cells without the whitespace around them. Trimming copies the column, so it is done
    only when some cell begins or ends with a byte that may be whitespace (``_EDGE_BYTES``),
    which most files have none of. The first and the last byte of every cell are looked at
    (an empty cell looks at its neighbours' bytes, which are looked at anyway)."""
    data = column.buffers()[2]
    if data is None or len(column) == 0 or data.size == 0:
        return column
    starts, ends = _offsets(column)
    cells = np.frombuffer(data, np.uint8)[starts[0]: ends[-1]]
    if len(cells) == 0 or (cells.min() > _LAST_ASCII_SPACE and cells.max() < 0x80):
        return column  # no byte anywhere that may be whitespace: two passes, no gather
    cells = np.frombuffer(data, np.uint8)
    scratch = scratch or _Scratch()
    n = len(column)
    where = scratch.get("where", np.intp, n)
    edge_byte = scratch.get("edge_byte", np.uint8, n)
    edge = scratch.get("edge", bool, n)
    for bound, shift in ((starts, 0), (ends, -1)):
        np.add(bound, shift, out=where)
        np.take(cells, where, mode="clip", out=edge_byte)
        np.take(_EDGE_BYTES, edge_byte, out=edge)
        if edge.any():
            return pc.utf8_trim(column, characters=WHITESPACE)
    return column


def _offsets(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Where each cell of a string column begins and ends in its data buffer."""
    width = np.int64 if pa.types.is_large_string(column.type) else np.int32
    start = column.offset
    offsets = np.frombuffer(column.buffers()[1], width)[start: start + len(column) + 1]
    return offsets[:-1], offsets[1:]


def _cell_bytes(column: pa.Array) -> bytes:
    """The bytes of a string column's cells, one after the other (a copy, for a byte search)."""
    data = column.buffers()[2]
    if data is None or len(column) == 0:
        return b""
    starts, ends = _offsets(column)
    return memoryview(data)[starts[0]: ends[-1]].tobytes()


def _release_memory() -> None:
    """Hand the memory of a file's intermediate buffers back to the system: Arrow's allocator
    keeps freed pages for reuse otherwise, and a ten-million-case run would hold the bytes of
    both files and every copy at its peak (docs/benchmarks.md, "Whole-process scoring")."""
    pa.default_memory_pool().release_unused()


def _read_pandas(text: str, header: list[str]) -> dict[str, pa.Array]:
    import pandas as pd

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
    table = table.iloc[1:]
    # Cells of short rows are missing (NaN): read them as empty.
    return {
        name: pa.array(table[column].fillna("").str.strip().to_numpy(dtype=object),
                       type=pa.large_string())
        for name, column in zip(header, table.columns, strict=True)
    }


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


# Arrow and numpy meet through buffers here: pyarrow's own conversions (``to_numpy``,
# ``pa.array`` of numpy data, Python scalars) import pandas, which a plain file never needs.
_NUMPY_TYPES = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32,
                pa.int64(): np.int64, pa.float64(): np.float64}


def _numpy(array: pa.Array) -> np.ndarray:
    """A boolean or fixed-width Arrow array without nulls as a numpy array (a copy)."""
    data = array.buffers()[1]
    if array.type == pa.bool_():
        bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
        return bits[array.offset: array.offset + len(array)].astype(bool)
    values = np.frombuffer(data, _NUMPY_TYPES[array.type])
    return values[array.offset: array.offset + len(array)].copy()


def _arrow_mask(mask: np.ndarray) -> pa.Array:
    """A numpy mask as an Arrow boolean array."""
    bits = np.packbits(np.asarray(mask, dtype=bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(bits)])


def _arrow_indices(index: np.ndarray) -> pa.Array:
    """Numpy positions as an Arrow int64 array (for ``take``)."""
    index = np.ascontiguousarray(index, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(index), [None, pa.py_buffer(index)])


def _objects(column: Column) -> np.ndarray:
    """A string column as the numpy array of ``str`` the rest of the engine holds."""
    if isinstance(column, _Factor):
        return column.objects()
    return np.array(column.to_pylist(), dtype=object)


def _pick(column: pa.Array | pa.ChunkedArray, mask: np.ndarray) -> list[str]:
    """The cells of ``column`` where ``mask`` is true (only built for a message)."""
    return column.filter(_arrow_mask(mask)).to_pylist()


def _lookup(column: Column, value, *, dtype, bad=None) -> tuple[np.ndarray, np.ndarray]:
    """``value(cell)`` for every cell and the mask where ``bad(cell)``, computed once per
    distinct cell (:class:`_Factor`), so Python looks at a handful of strings however many
    cases there are."""
    factor = _Factor.of(column)
    distinct, codes = factor.values, factor.codes
    values = np.array([value(cell) for cell in distinct], dtype=dtype)[codes]
    if bad is None:
        return values, np.zeros(len(codes), dtype=bool)
    return values, np.array([bad(cell) for cell in distinct], dtype=bool)[codes]


def _check_ids(ids: pa.Array, codes: np.ndarray | None = None) -> list[str]:
    """Empty and repeated case ids; repeated ones named in the order of their second
    appearance. ``codes`` may give integers equal exactly where the ids are equal (found
    otherwise by a dictionary encoding, when some id repeats)."""
    problems = []
    empty = _numpy(pc.binary_length(ids)) == 0
    if empty.any():
        problems.append(_rows(empty, ("row has", "rows have"), "an empty case_id"))
        ids = ids.filter(_arrow_mask(~empty))
        if codes is not None:
            codes = codes[~empty]
    if codes is None:
        if len(pc.unique(ids)) == len(ids):
            return problems
        codes = _numpy(pc.dictionary_encode(ids).indices)
    if len(codes) == 0 or np.bincount(codes).max() <= 1:
        return problems
    # An id's first position is where its code first occurs; every later one is a repetition.
    _, first = np.unique(codes, return_index=True)
    again = np.ones(len(codes), dtype=bool)
    again[first] = False
    where = np.flatnonzero(again)
    _, order = np.unique(codes[where], return_index=True)
    repeated = ids.take(_arrow_indices(where[np.sort(order)])).to_pylist()
    problems.append(_ids(repeated, ("case id appears", "case ids appear"), "more than once"))
    return problems


def _parse_binary(column: Column) -> tuple[np.ndarray, np.ndarray]:
    """0/1 integers and a mask of values that are not a binary label (none in a numpy
    column: pyarrow read every cell as one, ``BINARY``)."""
    if isinstance(column, np.ndarray):
        return column, np.zeros(len(column), dtype=bool)
    return _lookup(column, lambda cell: BINARY_LABELS.get(cell.lower(), 0), dtype=np.int8,
                   bad=lambda cell: cell.lower() not in BINARY_LABELS)


# A plain decimal number (ASCII digits): Arrow's cast and pandas.to_numeric read such cells to
# the same double (checked on a million cells of every magnitude); any other cell is read by
# pandas as before.
_PLAIN_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"


_NUMBER_BYTES = b"0123456789.+-eE"


def _cast_numbers(column: pa.Array) -> np.ndarray | None:
    """The column cast by Arrow in one pass when its bytes are only digits, signs, points and
    exponents and Arrow reads every cell; None otherwise (a cell for the full check).

    Whatever Arrow's cast accepts of these characters is a ``_PLAIN_NUMBER`` (checked over every
    string of up to five of them, and by tests/scoring/test_id_alignment.py), so this gives the
    values the regular expression's path would, without running it over every cell."""
    if len(column) == 0 or _numpy(pc.binary_length(column)).min() == 0:
        return None  # an empty cell: its message
    if _cell_bytes(column).translate(None, _NUMBER_BYTES):
        return None
    try:
        return _numpy(pc.cast(column, pa.float64()))
    except pa.ArrowInvalid:
        return None


def _parse_numbers(column: Column) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Floats, a mask of non-numbers (and infinities), and a mask of empty or NaN cells.

    A numpy column is what pyarrow read as finite numbers (``NUMBER``): no cell to flag."""
    if isinstance(column, np.ndarray):
        return column, np.zeros(len(column), dtype=bool), np.zeros(len(column), dtype=bool)
    column = _combined(column)
    values = _cast_numbers(column)
    if values is not None:
        return values, ~np.isfinite(values), np.zeros(len(values), dtype=bool)
    plain = pc.match_substring_regex(column, _PLAIN_NUMBER)
    is_plain = _numpy(plain)
    if is_plain.all():
        values = _numpy(pc.cast(column, pa.float64()))
        return values, ~np.isfinite(values), np.zeros(len(values), dtype=bool)
    import pandas as pd

    values = np.empty(len(column), dtype=np.float64)
    values[is_plain] = _numpy(pc.cast(column.filter(plain), pa.float64()))
    cells = pd.Series(_objects(column.filter(pc.invert(plain))))
    values[~is_plain] = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)
    missing = np.zeros(len(column), dtype=bool)
    missing[~is_plain] = ((cells == "").to_numpy()
                          | cells.str.lower().isin(["nan", "na"]).to_numpy())
    not_number = ~np.isfinite(values) & ~missing
    return values, not_number, missing


def _attribute_codes(column: Column) -> tuple[np.ndarray, tuple[str, ...]]:
    """The codes of the cells and the values they index, in order of first appearance (see
    ``Truth.attribute_codes``), missing values (``MISSING_VALUES``) being ``unknown``."""
    factor = _Factor.of(column)
    distinct = [UNKNOWN if cell.lower() in MISSING_VALUES else cell for cell in factor.values]
    # Several spellings of a missing value are one group: number the values anew.
    levels = tuple(dict.fromkeys(distinct))
    if len(levels) == len(distinct):
        codes = factor.codes
    else:
        position = {level: code for code, level in enumerate(levels)}
        remap = np.array([position[cell] for cell in distinct], dtype=np.int32)
        codes = remap[factor.codes]
    return codes, levels


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


def _by_id(ids: pa.Array, mask: np.ndarray, subject: Subject, rest: str = "") -> str:
    """Name offending cases by id where they have one, else by row."""
    named = _pick(ids, mask)
    if "" in named:
        return _rows(mask, subject, rest)
    return _ids(named, subject, rest)


def _size(n_bytes: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:g} {unit}"
    return f"{n_bytes} bytes"
