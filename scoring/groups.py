"""Patient subgroups: every value of each attribute and of each configured attribute pair.

A *partition* splits all cases into groups: the whole set (one group), an attribute (one group
per value) or an intersection ``a×b`` (one group per value pair that occurs). Groups are
numbered across partitions, the whole set being group 0. See :mod:`scoring.tallies` for how
cells (combinations of all attribute values) map to groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from scoring.io import INTERSECTION, UNKNOWN, Truth
from scoring.tallies import dense_codes, one_of_each


@dataclass(frozen=True)
class Partition:
    name: str  # "" for all cases, an attribute name, or "a×b"
    groups: list[int]  # group indices, in display order
    cell_group: np.ndarray  # (cells,) group index of each cell
    cell: np.ndarray = field(repr=False)  # (n,) cell of each case (Grouping.cell)

    @cached_property
    def case_group(self) -> np.ndarray:
        """(n,) group index of each case, built on first use: scoring reads groups through
        cells and never needs it, so a large evaluation does not hold n of them per
        partition."""
        return self.cell_group[self.cell]


@dataclass(frozen=True)
class Grouping:
    cell: np.ndarray  # (n,) cell of each case
    cell_group: np.ndarray  # (cells, partitions) group of each cell in each partition
    partitions: list[Partition]  # the whole set first
    names: list[str]  # display name (value, or "a×b" value pair) of each group
    attribute: list[str]  # partition name of each group

    @property
    def n_groups(self) -> int:
        return len(self.names)


def group_order(levels: Sequence[str]) -> list[str]:
    """Sorted values, numbers numerically, with ``unknown`` last."""
    known = [level for level in levels if level != UNKNOWN]
    try:
        ordered = sorted(known, key=float)
    except ValueError:
        ordered = sorted(known)
    return ordered + ([UNKNOWN] if UNKNOWN in levels else [])


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """Attribute pairs written ``a:b,c:d`` (as the CLI and the admin take them).

    Raises ValueError naming the item that is not ``attribute:attribute``.
    """
    pairs = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        a, sep, b = item.partition(":")
        if not sep or not a.strip() or not b.strip():
            raise ValueError(f"{item!r} is not attribute:attribute")
        pairs.append((a.strip(), b.strip()))
    return pairs


def check_cases(cases, n: int) -> list[str]:
    """Problems with a case mask (``None``: every case): it must be ``n`` booleans, some true."""
    if cases is None:
        return []
    cases = np.asarray(cases)
    if cases.dtype != bool or cases.shape != (n,):
        return [f"cases must be a boolean mask of {n} values"]
    return [] if cases.any() else ["no cases selected"]


def check_selection(
    available: Sequence[str],
    attributes: Sequence[str] | None,
    intersections: Sequence[tuple[str, str]],
) -> list[str]:
    """Problems with a choice of attributes and intersections (empty if none)."""
    problems = []
    chosen = list(available) if attributes is None else list(attributes)
    for name in chosen:
        if name not in available:
            problems.append(
                f"unknown attribute {name!r}; the ground truth has: "
                + (", ".join(available) or "no attribute columns")
            )
    for pair in intersections:
        if len(pair) != 2 or pair[0] == pair[1]:
            problems.append(f"an intersection needs two different attributes, got {pair!r}")
            continue
        for name in pair:
            if name not in available:
                problems.append(f"unknown attribute {name!r} in intersection {pair[0]}:{pair[1]}")
    return problems


def group_sizes(
    truth: Truth, intersections: Sequence[tuple[str, str]] = (), cases: np.ndarray | None = None
) -> list[tuple[str, str, int]]:
    """``(attribute, group, n)`` of every group ``evaluate`` lists for ``cases`` (a boolean mask;
    None: all) with every attribute and these intersections, in its order: the sizes the
    small-group rule and secondary suppression read, without scoring anything."""
    if cases is not None:
        truth = truth.subset(cases)
    grouping = build_grouping(truth.n, truth.attributes, list(truth.attributes),
                              [tuple(pair) for pair in intersections])
    sizes = np.bincount(grouping.cell, minlength=grouping.cell_group.shape[0])
    totals = np.zeros(grouping.n_groups, dtype=np.int64)
    np.add.at(totals, grouping.cell_group, sizes[:, None])
    return [(grouping.attribute[g], grouping.names[g], int(totals[g]))
            for partition in grouping.partitions[1:] for g in partition.groups]


def build_grouping(
    n: int,
    attributes: dict[str, np.ndarray],
    selected: Sequence[str],
    intersections: Sequence[tuple[str, str]],
    factorized: Mapping[str, tuple[np.ndarray, Sequence[str]]] | None = None,
) -> Grouping:
    """Groups of ``n`` cases by the ``selected`` attributes and attribute pairs.

    ``factorized`` optionally gives an attribute's integer codes and the values they index
    (``Truth.attribute_codes``), saving a pass over its strings."""
    names_needed = list(dict.fromkeys([*selected, *(a for pair in intersections for a in pair)]))
    codes: dict[str, np.ndarray] = {}
    levels: dict[str, list[str]] = {}
    for name in names_needed:
        if factorized and name in factorized:
            inverse, present = factorized[name]
        else:
            import pandas as pd

            inverse, present = pd.factorize(attributes[name])
        ordered = group_order([str(level) for level in present])
        position = {level: rank for rank, level in enumerate(ordered)}
        rank = np.array([position[str(level)] for level in present], dtype=np.int64)
        codes[name] = rank[inverse]
        levels[name] = ordered

    # Cells: combinations of all needed attribute values that occur (mixed radix, compressed
    # whenever the radix would overflow int64).
    if names_needed:
        key = np.zeros(n, dtype=np.int64)
        radix = 1
        for name in names_needed:
            size = len(levels[name])
            if radix * size >= 2**62:
                key = np.unique(key, return_inverse=True)[1].astype(np.int64)
                radix = int(key.max()) + 1
            key = key * size + codes[name]
            radix *= size
        first, cell = _cells(key, radix)
    else:
        first, cell = np.zeros(min(n, 1), dtype=np.int64), np.zeros(n, dtype=np.int64)

    partitions = [Partition("", [0], np.zeros(len(first), dtype=np.int64), cell)]
    group_names = ["all"]
    group_attribute = [""]
    columns = [np.zeros(len(first), dtype=np.int64)]
    for name in selected:
        offset = len(group_names)
        present = np.unique(codes[name][first])  # every value occurs in some cell
        lookup = np.full(len(levels[name]), -1, dtype=np.int64)
        lookup[present] = offset + np.arange(len(present))
        group_names += [levels[name][code] for code in present]
        group_attribute += [name] * len(present)
        column = lookup[codes[name][first]]
        columns.append(column)
        partitions.append(Partition(name, list(offset + np.arange(len(present))), column, cell))
    for a, b in intersections:
        label = f"{a}{INTERSECTION}{b}"
        offset = len(group_names)
        pair_code = codes[a][first] * len(levels[b]) + codes[b][first]
        present, column = np.unique(pair_code, return_inverse=True)
        column = offset + column.astype(np.int64).reshape(-1)
        group_names += [
            f"{levels[a][code // len(levels[b])]}{INTERSECTION}{levels[b][code % len(levels[b])]}"
            for code in present
        ]
        group_attribute += [label] * len(present)
        columns.append(column)
        partitions.append(Partition(label, list(offset + np.arange(len(present))), column, cell))
    return Grouping(
        cell=cell,
        cell_group=np.column_stack(columns),
        partitions=partitions,
        names=group_names,
        attribute=group_attribute,
    )


def _cells(key: np.ndarray, radix: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``key`` (in ``[0, radix)``) numbered 0, 1, … in ascending order:
    one case of each (``first``; which one does not matter, its attribute codes are the cell's)
    and each case's number (``cell``, as ``np.unique``'s ``return_inverse``).

    Speed: ``np.unique`` sorts the n keys (2 s at 10 million cases); ``dense_codes`` numbers
    them in linear time where the radix is small (a few attributes with a few values each,
    the usual case)."""
    cell = dense_codes(key, radix)
    return one_of_each(cell), cell
