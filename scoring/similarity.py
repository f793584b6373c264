"""How alike are the entries of a field? Pairwise similarity as matrix products (issue 6).

Every measure compares two entries over the same N cases. The inputs are stacked arrays, one row
per entry (S entries x N cases):

* ``decisions``: binary decisions (bool or 0/1 integers);
* ``labels``: the binary reference labels, shape (N,); an entry is *correct* on a case when its
  decision equals the label;
* ``scores``: real-valued scores (finite floats).

All 2 x 2 counts of a pair come from products of 0/1 matrices: with ``n11 = A @ B.T`` and the
row sums ``r`` and ``c``, ``n10 = r - n11``, ``n01 = c - n11`` and ``n00 = N - r - c + n11``.
Splitting the cases by label, one product over the positive and one over the negative cases give
the counts of both the decisions and the correctness indicators. The products run over blocks of
entries so that the working memory beyond the inputs is bounded by about twice ``chunk_bytes``
(two blocks live at a time); counts are exact (float32 products of 0/1 values are exact integers
below 2**24 cases, float64 is used above that).

A measure is NaN (``None`` in JSON) exactly where its denominator is zero:

* ``cohen_kappa`` and ``error_consistency`` when 1 - p_e = 0, i.e. both vectors are constant and
  equal (one constant vector against a varying one gives a defined kappa of 0);
* ``q_statistic`` when n11 * n00 + n01 * n10 = 0;
* ``score_correlation`` when either score vector is constant;
* every measure when there are no cases (an empty subgroup).

Measures that use the labels (error consistency, Q, disagreement, double fault) can reveal them;
``LABEL_MEASURES`` (``scoring.vocabulary.LABEL_SIMILARITY_MEASURES``) names them so that callers
can hide them from participants while a phase runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring.vocabulary import LABEL_SIMILARITY_MEASURES as LABEL_MEASURES
from scoring.vocabulary import SIMILARITY_MEASURES as MEASURES

DECISION_MEASURES = frozenset({"agreement", "cohen_kappa"})
SCORE_MEASURES = frozenset({"score_correlation"})

DEFAULT_CHUNK_BYTES = 512 * 2**20
FLAG_THRESHOLD = 0.95

# float32 sums of 0/1 products are exact integers while every partial sum stays below 2**24.
_FLOAT32_EXACT_CASES = 2**24


@dataclass(frozen=True)
class GroupSimilarity:
    """The similarity matrices restricted to the cases of one subgroup (``attribute == group``)."""

    attribute: str
    group: str
    n: int
    measures: dict[str, np.ndarray]


@dataclass(frozen=True)
class FlaggedPair:
    """Two entries of different teams whose similarity reaches the review threshold."""

    first: int
    second: int
    value: float


@dataclass(frozen=True)
class _Block:
    """One block of entries, converted for the matrix products (only what the measures need).

    Decisions are split by label: on the positive cases an entry is correct where it decides 1,
    on the negative cases where it decides 0. One product per half then gives the 2 x 2 counts
    of both the decisions and the correctness indicators.
    """

    positives: np.ndarray | None
    negatives: np.ndarray | None
    positive_ones: np.ndarray | None
    negative_ones: np.ndarray | None
    centred_scores: np.ndarray | None
    score_norms: np.ndarray | None
    constant_scores: np.ndarray | None


class _Field:
    """Validated inputs plus the conversion of a block of entries."""

    def __init__(
        self,
        decisions: np.ndarray,
        labels: np.ndarray,
        scores: np.ndarray,
        mask: np.ndarray | None,
        measures: Sequence[str],
    ) -> None:
        unknown = set(measures) - set(MEASURES)
        if unknown:
            raise ValueError(f"unknown similarity measures: {sorted(unknown)}")
        decisions = np.asarray(decisions)
        scores = np.asarray(scores, dtype=float)
        labels = np.asarray(labels)
        if decisions.ndim != 2 or scores.shape != decisions.shape:
            raise ValueError(
                "decisions and scores must both have shape (entries, cases), got "
                f"{decisions.shape} and {scores.shape}"
            )
        if labels.shape != (decisions.shape[1],):
            raise ValueError(f"labels must have shape ({decisions.shape[1]},), got {labels.shape}")
        _check_binary(decisions, "decisions")
        _check_binary(labels, "labels")
        if not all(np.isfinite(scores[i]).all() for i in range(scores.shape[0])):
            raise ValueError("scores must be finite")
        cases = np.ones(labels.shape, dtype=bool)
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != labels.shape:
                raise ValueError(f"mask must have shape {labels.shape}, got {mask.shape}")
            cases = mask
        self.decisions = decisions
        self.scores = scores
        self.mask = mask
        self.positive_cases = cases & (labels == 1)
        self.negative_cases = cases & (labels == 0)
        self.n_positive = int(self.positive_cases.sum())
        self.n = int(cases.sum())
        self.measures = tuple(measures)
        wanted = set(measures)
        self.needs_counts = bool(wanted & (DECISION_MEASURES | LABEL_MEASURES))
        self.needs_scores = bool(wanted & SCORE_MEASURES)
        self.count_dtype = np.float32 if self.n < _FLOAT32_EXACT_CASES else np.float64

    @property
    def size(self) -> int:
        return int(self.decisions.shape[0])

    def block_rows(self, chunk_bytes: int) -> int:
        """Entries per block so that one converted block stays within ``chunk_bytes``."""
        width = np.dtype(self.count_dtype).itemsize
        per_case = (width * self.needs_counts + 8 * self.needs_scores) or 1
        return max(1, int(chunk_bytes // (per_case * max(self.n, 1))))

    def block(self, start: int, stop: int) -> _Block:
        halves: dict[str, np.ndarray | None] = {"positives": None, "negatives": None}
        ones: dict[str, np.ndarray | None] = {"positives": None, "negatives": None}
        if self.needs_counts:
            decisions = self.decisions[start:stop]
            for name, cases in (
                ("positives", self.positive_cases),
                ("negatives", self.negative_cases),
            ):
                half = decisions[:, cases].astype(bool, copy=False)
                halves[name] = half.astype(self.count_dtype)
                ones[name] = np.count_nonzero(half, axis=1).astype(np.int64)
        centred = norms = constant = None
        if self.needs_scores:
            scores = self.scores[start:stop]
            if self.mask is not None:
                scores = scores[:, self.mask]
            if self.n:
                constant = scores.max(axis=1) == scores.min(axis=1)
                centred = scores - scores.mean(axis=1, keepdims=True)
            else:
                constant = np.ones(stop - start, dtype=bool)
                centred = np.zeros((stop - start, 0))
            norms = np.sqrt(np.einsum("ij,ij->i", centred, centred))
        return _Block(
            positives=halves["positives"],
            negatives=halves["negatives"],
            positive_ones=ones["positives"],
            negative_ones=ones["negatives"],
            centred_scores=centred,
            score_norms=norms,
            constant_scores=constant,
        )


def _check_binary(values: np.ndarray, name: str) -> None:
    if values.dtype == bool:
        return
    rows = values.reshape(1, -1) if values.ndim == 1 else values
    for row in rows:
        if not np.all((row == 0) | (row == 1)):
            raise ValueError(f"{name} must be 0/1 or boolean")


def _ratio(numerator: np.ndarray, denominator: np.ndarray | int) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is zero."""
    numerator, denominator = np.broadcast_arrays(numerator, denominator)
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _counts(
    n11: np.ndarray, row_ones: np.ndarray, column_ones: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 2 x 2 table (n11, n10, n01, n00) from the joint ones and each side's ones."""
    r = row_ones[:, None]
    c = column_ones[None, :]
    return n11, r - n11, c - n11, n - r - c + n11


def _kappa(n11: np.ndarray, n10: np.ndarray, n01: np.ndarray, n00: np.ndarray) -> np.ndarray:
    """Cohen's kappa from 2 x 2 counts, in integers until the final division.

    kappa = (p_o - p_e) / (1 - p_e); multiplying by N**2 gives 1 - p_e = r(N - c) + (N - r)c
    and p_o - p_e = (1 - p_e) - N(n10 + n01), with r and c the two vectors' counts of ones.
    """
    n = n11 + n10 + n01 + n00
    r = n11 + n10
    c = n11 + n01
    expected_disagreement = r * (n - c) + (n - r) * c
    return _ratio(expected_disagreement - n * (n10 + n01), expected_disagreement)


def _pair_measures(field: _Field, a: _Block, b: _Block) -> dict[str, np.ndarray]:
    n = field.n
    n_negative = n - field.n_positive
    wanted = set(field.measures)
    out: dict[str, np.ndarray] = {}
    if field.needs_counts:
        # Both decide 1, on the positive and on the negative cases (exact integers, see above).
        ones_on_positives = np.rint(a.positives @ b.positives.T).astype(np.int64)
        ones_on_negatives = np.rint(a.negatives @ b.negatives.T).astype(np.int64)
        n11, n10, n01, n00 = _counts(
            ones_on_positives + ones_on_negatives,
            a.positive_ones + a.negative_ones,
            b.positive_ones + b.negative_ones,
            n,
        )
        out["agreement"] = _ratio(n11 + n00, n)
        out["cohen_kappa"] = _kappa(n11, n10, n01, n00)
        # Correctness, 1 = correct: n11 both correct, n00 both wrong (Kuncheva & Whitaker 2003,
        # table 1). On the negative cases "both correct" means both decide 0.
        a_right_on_negatives = n_negative - a.negative_ones
        b_right_on_negatives = n_negative - b.negative_ones
        both_right_on_negatives = (
            n_negative - a.negative_ones[:, None] - b.negative_ones[None, :] + ones_on_negatives
        )
        n11, n10, n01, n00 = _counts(
            ones_on_positives + both_right_on_negatives,
            a.positive_ones + a_right_on_negatives,
            b.positive_ones + b_right_on_negatives,
            n,
        )
        out["error_consistency"] = _kappa(n11, n10, n01, n00)
        out["q_statistic"] = _ratio(n11 * n00 - n01 * n10, n11 * n00 + n01 * n10)
        out["disagreement"] = _ratio(n10 + n01, n)
        out["double_fault"] = _ratio(n00, n)
    if field.needs_scores:
        products = a.centred_scores @ b.centred_scores.T
        correlation = _ratio(products, np.outer(a.score_norms, b.score_norms))
        correlation[a.constant_scores[:, None] | b.constant_scores[None, :]] = np.nan
        out["score_correlation"] = np.clip(correlation, -1.0, 1.0)
    return {name: value for name, value in out.items() if name in wanted}


def _spans(size: int, step: int) -> list[tuple[int, int]]:
    return [(start, min(start + step, size)) for start in range(0, size, step)]


def similarity_matrices(
    decisions: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    measures: Sequence[str] = MEASURES,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> dict[str, np.ndarray]:
    """All pairwise measures as symmetric S x S float arrays, NaN where undefined.

    ``mask`` (boolean, shape (N,)) restricts every measure to the cases where it is true, e.g. the
    female patients. The diagonal is included (an entry against itself).
    """
    field = _Field(decisions, labels, scores, mask, measures)
    size = field.size
    out = {name: np.empty((size, size)) for name in field.measures}
    spans = _spans(size, field.block_rows(chunk_bytes))
    for position, (row_start, row_stop) in enumerate(spans):
        rows = field.block(row_start, row_stop)
        for column_start, column_stop in spans[position:]:
            same = column_start == row_start
            columns = rows if same else field.block(column_start, column_stop)
            for name, values in _pair_measures(field, rows, columns).items():
                if same:
                    # Floating products of a block with itself need not be exactly symmetric.
                    upper = np.triu(np.ones(values.shape, dtype=bool))
                    values = np.where(upper, values, values.T)
                out[name][row_start:row_stop, column_start:column_stop] = values
                out[name][column_start:column_stop, row_start:row_stop] = values.T
    return out


def similarity_row(
    decisions: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    index: int,
    *,
    mask: np.ndarray | None = None,
    measures: Sequence[str] = MEASURES,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> dict[str, np.ndarray]:
    """Entry ``index`` against every entry (itself included): one row (= column) of each matrix.

    Costs O(S * N) instead of O(S**2 * N); use it to update stored matrices after a new
    submission. Count-based measures equal the full recompute exactly, the score correlation to
    rounding (about 1e-15).
    """
    field = _Field(decisions, labels, scores, mask, measures)
    if not -field.size <= index < field.size:
        raise IndexError(f"entry {index} out of range for {field.size} entries")
    index %= field.size
    target = field.block(index, index + 1)
    out = {name: np.empty(field.size) for name in field.measures}
    for start, stop in _spans(field.size, field.block_rows(chunk_bytes)):
        for name, values in _pair_measures(field, target, field.block(start, stop)).items():
            out[name][start:stop] = values[0]
    return out


def group_similarity(
    decisions: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    attributes: Mapping[str, Sequence[Any] | np.ndarray],
    *,
    measures: Sequence[str] = MEASURES,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> list[GroupSimilarity]:
    """The matrices within every subgroup: for each attribute, each of its non-missing values.

    Groups come in attribute order, then sorted by the group's text; missing values (None, NaN)
    belong to no group.
    """
    results = []
    for attribute, group, mask in _group_masks(attributes):
        matrices = similarity_matrices(
            decisions, labels, scores, mask=mask, measures=measures, chunk_bytes=chunk_bytes
        )
        results.append(GroupSimilarity(attribute, group, int(mask.sum()), matrices))
    return results


def _group_masks(
    attributes: Mapping[str, Sequence[Any] | np.ndarray],
) -> Iterator[tuple[str, str, np.ndarray]]:
    """(attribute, group, mask) in attribute order, groups sorted by text; missing: no group."""
    for attribute, values in attributes.items():
        column = pd.Series(np.asarray(values, dtype=object))
        for group in sorted(column.dropna().unique(), key=str):
            yield attribute, str(group), (column == group).to_numpy()


def updated_similarity_matrices(
    decisions: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    previous: Mapping[str, np.ndarray],
    reuse: Sequence[int | None],
    *,
    mask: np.ndarray | None = None,
    measures: Sequence[str] = MEASURES,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> dict[str, np.ndarray]:
    """The matrices of ``similarity_matrices``, computing only the rows of changed entries.

    ``reuse[i]`` is the index in ``previous`` (matrices of an earlier field over the same cases)
    of entry ``i`` when it is unchanged, else None. Pairs of two unchanged entries are copied;
    each changed entry's row and column come from ``similarity_row``, so the cost is
    O(changed * S * N) instead of O(S**2 * N). Equal to the full recompute exactly for the
    count-based measures, to rounding (about 1e-15) for the score correlation.
    """
    size = np.shape(decisions)[0]
    if len(reuse) != size:
        raise ValueError(f"{len(reuse)} reuse entries for {size} entries")
    kept = [i for i, source in enumerate(reuse) if source is not None]
    sources = [reuse[i] for i in kept]
    out = {}
    for name in measures:
        matrix = np.full((size, size), np.nan)
        if kept:
            matrix[np.ix_(kept, kept)] = np.asarray(previous[name], dtype=float)[
                np.ix_(sources, sources)
            ]
        out[name] = matrix
    for index in (i for i, source in enumerate(reuse) if source is None):
        row = similarity_row(
            decisions, labels, scores, index, mask=mask, measures=measures,
            chunk_bytes=chunk_bytes,
        )
        for name, values in row.items():
            out[name][index, :] = values
            out[name][:, index] = values
    return out


@dataclass(frozen=True)
class SimilarityArrays:
    """Every matrix of a field: overall and within each subgroup, S x S float64, NaN undefined.

    The in-memory form of ``similarity_report``: what the web app stores (``packed``, one file
    per report) and reuses for the next update, without a JSON round trip.
    """

    entries: list[str]
    measures: dict[str, np.ndarray]
    groups: list[GroupSimilarity]

    def to_json(self) -> dict[str, Any]:
        """The ``similarity_report`` document (``None`` where undefined)."""
        return {
            "entries": list(self.entries),
            "measures": {name: matrix_to_json(v) for name, v in self.measures.items()},
            "groups": [
                {
                    "attribute": group.attribute,
                    "group": group.group,
                    "n": group.n,
                    "measures": {name: matrix_to_json(v) for name, v in group.measures.items()},
                }
                for group in self.groups
            ],
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> SimilarityArrays:
        """The arrays of a ``similarity_report`` document (``None`` becomes NaN)."""
        return cls(
            entries=list(document["entries"]),
            measures=_matrices_from_json(document["measures"]),
            groups=[
                GroupSimilarity(g["attribute"], g["group"], g["n"],
                                _matrices_from_json(g["measures"]))
                for g in document.get("groups", [])
            ],
        )

    def packed(self) -> dict[str, np.ndarray]:
        """``{"overall.<measure>" | "group<i>.<measure>": upper triangle}``, for ``numpy.savez``.

        Each matrix is symmetric, so only its upper triangle (diagonal included, row by row)
        is kept: S (S + 1) / 2 float64 values, half the square and a fraction of the JSON.
        Group ``i`` is ``groups[i]``; the caller keeps the entries and the groups' names and
        sizes (``unpacked`` needs them back).
        """
        upper = np.triu_indices(len(self.entries))
        out = {packed_key(None, name): m[upper] for name, m in self.measures.items()}
        for index, group in enumerate(self.groups):
            out |= {packed_key(index, name): m[upper] for name, m in group.measures.items()}
        return out

    @classmethod
    def unpacked(
        cls,
        entries: Sequence[str],
        groups: Sequence[tuple[str, str, int]],
        arrays: Mapping[str, np.ndarray],
    ) -> SimilarityArrays:
        """The inverse of ``packed``; ``groups`` are (attribute, group, n) in the stored order."""
        size = len(entries)
        return cls(
            entries=list(entries),
            measures=unpacked_matrices(arrays, size),
            groups=[
                GroupSimilarity(attribute, group, n, unpacked_matrices(arrays, size, index))
                for index, (attribute, group, n) in enumerate(groups)
            ],
        )


def packed_key(group_index: int | None, measure: str) -> str:
    """The name of one packed matrix: ``overall.<measure>`` or ``group<i>.<measure>``."""
    return f"{'overall' if group_index is None else f'group{group_index}'}.{measure}"


def unpacked_matrices(
    arrays: Mapping[str, np.ndarray],
    size: int,
    group_index: int | None = None,
    measures: Sequence[str] | None = None,
    entries: Sequence[int] | None = None,
) -> dict[str, np.ndarray]:
    """The S x S matrices of all cases (``group_index`` None) or of one group, from packed
    triangles (``SimilarityArrays.packed``).

    ``measures`` picks some and ``entries`` (indices) only their rows and columns, in that
    order (a page shows a corner of one group); ``arrays`` may be a lazy
    ``numpy.lib.npyio.NpzFile``, so only the named members are read.
    """
    wanted = MEASURES if measures is None else measures
    if entries is None:
        upper = np.triu_indices(size)
        positions = None
    else:
        # Row a of the packed upper triangle starts at a * S - a (a - 1) / 2 (row by row).
        index = np.asarray(entries, dtype=np.int64)
        low = np.minimum.outer(index, index)
        high = np.maximum.outer(index, index)
        positions = low * size - low * (low - 1) // 2 + (high - low)
    out = {}
    for name in wanted:
        key = packed_key(group_index, name)
        if key not in arrays:
            continue
        values = np.asarray(arrays[key])
        if positions is not None:
            out[name] = values[positions]
            continue
        matrix = np.empty((size, size))
        matrix[upper] = values
        matrix[upper[1], upper[0]] = matrix[upper]
        out[name] = matrix
    return out


def _matrices_from_json(measures: Mapping[str, Any]) -> dict[str, np.ndarray]:
    # numpy reads None as NaN in a float array.
    return {name: np.array(rows, dtype=float) for name, rows in measures.items()}


def similarity_arrays(
    entries: Sequence[str],
    decisions: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    attributes: Mapping[str, Sequence[Any] | np.ndarray] | None = None,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> SimilarityArrays:
    """Every measure overall and within every subgroup (see ``group_similarity``)."""
    if len(entries) != np.shape(decisions)[0]:
        raise ValueError(f"{len(entries)} entry names for {np.shape(decisions)[0]} entries")
    return SimilarityArrays(
        entries=list(entries),
        measures=similarity_matrices(decisions, labels, scores, chunk_bytes=chunk_bytes),
        groups=group_similarity(
            decisions, labels, scores, attributes or {}, chunk_bytes=chunk_bytes
        ),
    )


def updated_similarity_arrays(
    entries: Sequence[str],
    decisions: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    attributes: Mapping[str, Sequence[Any] | np.ndarray] | None,
    *,
    previous: SimilarityArrays,
    reuse: Sequence[int | None],
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> SimilarityArrays:
    """``similarity_arrays`` from the arrays of an earlier field over the same cases.

    ``reuse`` maps each entry to its index in ``previous`` (None: new or changed); see
    ``updated_similarity_matrices``. A group that ``previous`` lacks (or had with another
    size) is computed in full.
    """
    if len(entries) != np.shape(decisions)[0]:
        raise ValueError(f"{len(entries)} entry names for {np.shape(decisions)[0]} entries")

    def matrices(old: Mapping[str, np.ndarray] | None, mask: np.ndarray | None):
        if old is None:
            return similarity_matrices(
                decisions, labels, scores, mask=mask, chunk_bytes=chunk_bytes
            )
        return updated_similarity_matrices(
            decisions, labels, scores, old, reuse, mask=mask, chunk_bytes=chunk_bytes
        )

    old_groups = {(g.attribute, g.group, g.n): g.measures for g in previous.groups}
    groups = []
    for attribute, group, mask in _group_masks(attributes or {}):
        n = int(mask.sum())
        groups.append(GroupSimilarity(
            attribute, group, n, matrices(old_groups.get((attribute, group, n)), mask)
        ))
    return SimilarityArrays(
        entries=list(entries), measures=matrices(previous.measures, None), groups=groups
    )


def updated_similarity_report(
    entries: Sequence[str],
    decisions: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    attributes: Mapping[str, Sequence[Any] | np.ndarray] | None,
    *,
    previous: Mapping[str, Any],
    reuse: Sequence[int | None],
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> dict[str, Any]:
    """``similarity_report`` from a previous report document over the same cases and groups
    (``updated_similarity_arrays`` on its arrays)."""
    return updated_similarity_arrays(
        entries, decisions, labels, scores, attributes,
        previous=SimilarityArrays.from_json(previous), reuse=reuse, chunk_bytes=chunk_bytes,
    ).to_json()


def matrix_to_json(matrix: np.ndarray) -> list[list[float | None]] | list[float | None]:
    """Nested lists of floats with NaN replaced by None (``null`` in JSON)."""
    values = np.asarray(matrix, dtype=float)
    # An object array holds Python floats and None; vectorised, ~25x faster than a loop.
    return np.where(np.isnan(values), None, values).tolist()


def similarity_report(
    entries: Sequence[str],
    decisions: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    attributes: Mapping[str, Sequence[Any] | np.ndarray] | None = None,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> dict[str, Any]:
    """The JSON document of ``python -m scoring similarity`` (issue 6), ready for ``json.dumps``.

    ``{"entries": [...], "measures": {name: S x S}, "groups": [{"attribute", "group", "n",
    "measures"}]}``, matrices in the order of ``entries`` with ``None`` where undefined.
    """
    return similarity_arrays(
        entries, decisions, labels, scores, attributes, chunk_bytes=chunk_bytes
    ).to_json()


def mean_pairwise(matrix: np.ndarray) -> float | None:
    """Mean over distinct pairs (upper triangle, diagonal excluded) of the defined values.

    Applied to error consistency this is the field's diversity figure: near 1 the entries fail on
    the same cases, near 0 their errors are as independent as chance. None without a defined pair.
    """
    values = np.asarray(matrix)[np.triu_indices(np.shape(matrix)[0], k=1)]
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else None


def flag_similar_pairs(
    matrix: np.ndarray, teams: Sequence[Any], *, threshold: float = FLAG_THRESHOLD
) -> list[FlaggedPair]:
    """Pairs of entries from different teams with similarity >= ``threshold``, most similar first.

    Use with error consistency (default threshold 0.95) to find shared code, leaked predictions
    or plain convergence for review. Undefined (NaN) pairs are never flagged.
    """
    matrix = np.asarray(matrix)
    if len(teams) != matrix.shape[0]:
        raise ValueError(f"{len(teams)} team ids for {matrix.shape[0]} entries")
    first, second = np.triu_indices(matrix.shape[0], k=1)
    values = matrix[first, second]
    team_ids = np.asarray(teams, dtype=object)
    hits = (values >= threshold) & (team_ids[first] != team_ids[second])
    pairs = [
        FlaggedPair(int(i), int(j), float(v))
        for i, j, v in zip(first[hits], second[hits], values[hits], strict=True)
    ]
    return sorted(pairs, key=lambda pair: (-pair.value, pair.first, pair.second))


def error_dissimilarity(error_consistency: np.ndarray) -> np.ndarray:
    """1 - error consistency as a symmetric dissimilarity with a zero diagonal.

    Error consistency is undefined only for two entries whose correctness vectors are constant
    and equal (both always right or both always wrong), i.e. identical: their dissimilarity is 0.
    """
    dissimilarity = 1.0 - np.asarray(error_consistency, dtype=float)
    dissimilarity = np.nan_to_num(dissimilarity, nan=0.0)
    dissimilarity = (dissimilarity + dissimilarity.T) / 2
    np.fill_diagonal(dissimilarity, 0.0)
    return dissimilarity


def mds_embedding(error_consistency: np.ndarray, *, random_state: int = 0) -> np.ndarray:
    """2-D positions (S x 2) of the entries from metric MDS on 1 - error consistency.

    Close points fail on the same cases. Deterministic for a given ``random_state`` (classical
    MDS initialisation, scikit-learn's SMACOF).
    """
    from sklearn.manifold import MDS

    dissimilarity = error_dissimilarity(error_consistency)
    if dissimilarity.shape[0] < 3:
        # Two points lie on a line at their distance; MDS needs no iterations for that.
        positions = np.zeros((dissimilarity.shape[0], 2))
        if dissimilarity.shape[0] == 2:
            positions[1, 0] = dissimilarity[0, 1]
        return positions
    mds = MDS(
        n_components=2,
        metric="precomputed",
        init="classical_mds",
        random_state=random_state,
    )
    return mds.fit_transform(dissimilarity)


def clustered_order(error_consistency: np.ndarray, *, method: str = "average") -> list[int]:
    """Entry indices in the leaf order of hierarchical clustering on 1 - error consistency.

    Ordering the heatmap's rows and columns this way puts entries that fail alike next to each
    other (scipy ``linkage`` with ``optimal_ordering``, default average linkage).
    """
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    dissimilarity = error_dissimilarity(error_consistency)
    if dissimilarity.shape[0] < 3:
        return list(range(dissimilarity.shape[0]))
    tree = linkage(
        squareform(np.clip(dissimilarity, 0.0, None), checks=False),
        method=method,
        optimal_ordering=True,
    )
    return [int(i) for i in leaves_list(tree)]
