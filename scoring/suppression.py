"""Which groups' values to withhold so that no small group can be derived by subtraction.

A small group (fewer cases than ``min_group``) is withheld: its values can reveal individual
labels. Withholding it alone is not enough. Counts are additive — the positives of an
attribute's groups add up to all positives, the true positives too — so a group's sensitivity
(TP / P) follows from the overall one and the other groups' (their sizes follow from shares),
and likewise for every rate. Statistical offices call the fix *secondary suppression*
(Hundepool et al., *Statistical Disclosure Control*, Wiley 2012, §5.4; the "at least two in
every line" rule of τ-ARGUS): withhold enough other cells that every released total leaves
at least two unknowns.

The rule, applied to one evaluation's groups (the same for every metric, interval, rank and
heatmap cell, as it depends only on the group sizes):

1. *primary*: every small group is suppressed;
2. *attribute tables*: in each attribute's groups (and each intersection's, taken as one table
   that adds up to all cases), if exactly one group is suppressed, the smallest other group
   is suppressed too (ties by name);
3. *intersection tables* ``a×b``, whose rows add up to the groups of ``a`` and columns to those
   of ``b`` (the margins): a cell whose margin group is suppressed is suppressed; in each row
   and column whose margin is released, if exactly one cell is suppressed, the smallest other
   cell of that line is suppressed too — or the margin itself when the line has no other cell;
4. repeat 2–3 until nothing changes; then *audit*: solve the linear system of all these sums
   with the released groups known, and while some suppressed group is still determined by it
   (a pattern the line rule misses, e.g. two blocks joined by one cell), suppress the
   smallest released group of the shortest sum holding it and repeat from 2.

The result is deterministic (it depends only on the groups' names and sizes), so
every submission of a split hides the same groups. What it does not hide: bounds (a released
total still bounds the suppressed groups from above), and anything learned across splits,
phases or from predictions chosen to single out cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from scoring.io import INTERSECTION

Key = tuple[str, str]  # (attribute, group)


class Sized(Protocol):
    """A group as the rule reads it (``GroupResult`` is one)."""

    attribute: str
    group: str
    n: int
    small: bool


@dataclass(frozen=True)
class GroupSize:
    """A group's name, size and whether it is small: all the rule needs."""

    attribute: str
    group: str
    n: int
    small: bool


def sized_groups(groups: Iterable[tuple[str, str, int]], min_group: int) -> list[GroupSize]:
    """``(attribute, group, n)`` as rule input, small below ``min_group`` cases."""
    return [GroupSize(a, g, int(n), int(n) < min_group) for a, g, n in groups]


@dataclass(frozen=True)
class _Intersection:
    name: str
    rows: str  # the first attribute (a margin table)
    columns: str  # the second
    cells: dict[str, tuple[str, str]]  # cell group -> (row level, column level)


def suppressed_groups(groups: Sequence[Sized]) -> set[Key]:
    """The ``(attribute, group)`` of every group to withhold: the small ones and the groups
    that must be hidden with them (see the module's rule). Groups of one attribute (or
    intersection ``a×b``) are the ones sharing ``attribute``; the order they come in does not
    matter (tables and groups are taken by name)."""
    tables: dict[str, list[Sized]] = {}
    for item in sorted(groups, key=lambda item: (item.attribute, item.group)):
        tables.setdefault(item.attribute, []).append(item)
    size = {(item.attribute, item.group): item.n for item in groups}
    crossed = [found for name in tables if (found := _intersection(name, tables)) is not None]
    hidden = {(item.attribute, item.group) for item in groups if item.small}
    while True:
        _line_rule(tables, crossed, size, hidden)
        partners = (_smallest_partner(key, tables, crossed, size, hidden)
                    for key in _audit(tables, crossed, hidden))
        fresh = next((key for key in partners if key is not None), None)
        if fresh is None:  # nothing is determined, or nothing is left to hide with it
            return hidden
        hidden.add(fresh)


def _line_rule(tables: dict[str, list[Sized]], crossed: list[_Intersection],
               size: dict[Key, int], hidden: set[Key]) -> None:
    """Steps 2–3 of the rule, to a fixed point (``hidden`` grows in place)."""
    changed = True

    def hide(key: Key) -> None:
        nonlocal changed
        if key not in hidden:
            hidden.add(key)
            changed = True

    while changed:
        changed = False
        for name, items in tables.items():
            line = [(name, item.group) for item in items]
            extra = _second(line, size, hidden)
            if extra is not None:
                hide(extra)
        for table in crossed:
            for cell, (row, column) in table.cells.items():
                if (table.rows, row) in hidden or (table.columns, column) in hidden:
                    hide((table.name, cell))
            for margin, position in ((table.rows, 0), (table.columns, 1)):
                lines: dict[str, list[Key]] = {}
                for cell, levels in table.cells.items():
                    lines.setdefault(levels[position], []).append((table.name, cell))
                for level, line in lines.items():
                    if (margin, level) in hidden:
                        continue
                    extra = _second(line, size, hidden)
                    if extra is not None:
                        hide(extra)
                    elif len(line) == 1 and line[0] in hidden:
                        hide((margin, level))  # the lone cell equals its margin


def _second(line: list[Key], size: dict[Key, int], hidden: set[Key]) -> Key | None:
    """The group to hide beside the only suppressed one of ``line``; None if none is needed
    (or the line has no other group)."""
    if sum(key in hidden for key in line) != 1:
        return None
    others = [key for key in line if key not in hidden]
    return min(others, key=lambda key: (size[key], key[1])) if others else None


def _equations(
    tables: dict[str, list[Sized]], crossed: list[_Intersection]
) -> list[list[tuple[Key, int]]]:
    """Every sum the released numbers satisfy, as ``[(group, coefficient)]`` equal to a known
    value (all cases' total, which is always released, or zero)."""
    equations = [[((name, item.group), 1) for item in items] for name, items in tables.items()]
    for table in crossed:
        for margin, position in ((table.rows, 0), (table.columns, 1)):
            for item in tables[margin]:
                cells = [(table.name, cell) for cell, levels in table.cells.items()
                         if levels[position] == item.group]
                equations.append([((margin, item.group), -1), *((key, 1) for key in cells)])
    return equations


def _audit(tables: dict[str, list[Sized]], crossed: list[_Intersection],
           hidden: set[Key]) -> list[Key]:
    """Suppressed groups whose value the sums determine from the released ones, in order.

    A hidden group is determined exactly when its unit vector lies in the row space of the
    equations restricted to the hidden groups, i.e. when every null-space vector is zero there.
    """
    order = [key for name, items in tables.items()
             for key in ((name, item.group) for item in items) if key in hidden]
    if not order:
        return []
    index = {key: i for i, key in enumerate(order)}
    rows = []
    for equation in _equations(tables, crossed):
        row = np.zeros(len(order))
        for key, coefficient in equation:
            if key in index:
                row[index[key]] += coefficient
        if row.any():
            rows.append(row)
    if not rows:
        return []
    matrix = np.array(rows)
    _u, singular, vt = np.linalg.svd(matrix)
    rank = int((singular > 1e-9 * max(matrix.shape)).sum())
    null = vt[rank:]
    free = np.abs(null).max(axis=0) > 1e-9 if len(null) else np.zeros(len(order), dtype=bool)
    return [key for key, is_free in zip(order, free, strict=True) if not is_free]


def _smallest_partner(key: Key, tables: dict[str, list[Sized]], crossed: list[_Intersection],
                      size: dict[Key, int], hidden: set[Key]) -> Key | None:
    """The smallest released group of the shortest sum holding ``key`` (a row or column
    before a whole table; ties by name): hiding it joins ``key`` to another unknown there."""
    sums = sorted(
        (equation for equation in _equations(tables, crossed)
         if any(k == key for k, _c in equation)),
        key=len,
    )
    for equation in sums:
        released = [other for other, _c in equation if other not in hidden]
        if released:
            return min(released, key=lambda other: (size[other], other))
    return None


def _intersection(name: str, tables: dict[str, list[Sized]]) -> _Intersection | None:
    """The intersection table ``name`` with its margins, when both margins are among the
    groups and every cell name splits into their levels; None otherwise (then it is only
    a table adding up to all cases)."""
    for at in _positions(name):
        rows, columns = name[:at], name[at + len(INTERSECTION):]
        if rows not in tables or columns not in tables or rows == name or columns == name:
            continue
        row_levels = {item.group for item in tables[rows]}
        column_levels = {item.group for item in tables[columns]}
        cells = {}
        for item in tables[name]:
            split = next(
                ((item.group[:i], item.group[i + len(INTERSECTION):])
                 for i in _positions(item.group)
                 if item.group[:i] in row_levels
                 and item.group[i + len(INTERSECTION):] in column_levels),
                None,
            )
            if split is None:
                break
            cells[item.group] = split
        else:
            return _Intersection(name=name, rows=rows, columns=columns, cells=cells)
    return None


def _positions(text: str) -> list[int]:
    return [i for i in range(len(text)) if text.startswith(INTERSECTION, i)]
