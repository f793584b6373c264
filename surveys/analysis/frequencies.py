"""Frequency tables and quartiles of survey answers, released with small cells withheld.

The study page's summaries (``surveys.summaries`` counts the answers in the database; this
module decides what of them may be shown). Every table's counts are of the *respondents* of a
survey version, the released total ``n`` that the page shows: a question's cells — its options
(or scale points, or "gave a number"), "prefer not to say", "no answer" and, for a
special-category question, "not released" — add up to ``n``, so each share is of ``n`` and a
question's shares add up to 1 (SPSS's *Percent*, not its *Valid Percent*: a second total, the
answerers, would be a second number to subtract from).

Small cells (the study's threshold ``k``, ``Study.export_min_group``):

1. *primary*: a count with ``0 < count < k`` is withheld (shown as "<k");
2. *a line* is a set of cells that add up to a shown total. A line that holds a withheld cell
   withholds more of its cells, the smallest non-zero first (ties: the first in the line),
   until at least two of its cells are unknown and together they hold at least ``k`` people:
   the total minus the shown cells is then a sum of several cells, as large as a cell that
   may stand. It is the line rule of secondary suppression (Hundepool et al., *Statistical
   Disclosure Control*, Wiley 2012, §5.4; ``scoring/suppression.py``), with the sum of the
   unknown cells held to the threshold as well;
3. a count that is never shown still counts in its line: of a multiple choice, each option's
   choosers and the respondents who did not choose it add up to ``n``; when those who did not
   choose it are few, the choosers are withheld (otherwise ``n`` minus them would count the
   few);
4. zeros are shown and never withheld beside another cell (hiding a zero hides nobody);
5. a total under ``k`` is withheld, and with it every cell (``n`` itself is a line of one).

What it does not hide: bounds. Whoever knows the rule knows that a cell withheld beside a
small one is no larger than the smallest shown cell of its line, and a withheld cell is never
larger than the total.

Quartiles (``quartiles``): numpy's ``percentile`` with ``method="linear"`` (type 7 of Hyndman
& Fan, *Sample quantiles in statistical packages*, The American Statistician 50 (1996)
361–365; R's default), and nothing at all for fewer than ``k`` numbers.

Plain Python and numpy: no Django (the import-linter contract of ``surveys.analysis``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: numpy's quantile method for the quartiles (Hyndman & Fan's type 7).
QUANTILE_METHOD = "linear"


@dataclass(frozen=True)
class Cell:
    """One released count. ``count`` and ``share`` (a fraction of the line's total, in [0, 1])
    are ``None`` when withheld; ``small`` says why: under the threshold itself ("<k") rather
    than withheld beside another cell so that it cannot be found by subtraction."""

    label: str
    count: int | None
    share: float | None
    small: bool = False

    @property
    def withheld(self) -> bool:
        return self.count is None


@dataclass(frozen=True)
class Quartiles:
    """The median and quartiles of some numbers (numpy's linear method). How many they are
    is a cell of its own, released (or not) with the question's other cells."""

    q1: float
    median: float
    q3: float

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1


def is_small(count: int, threshold: int) -> bool:
    return 0 < count < threshold


def withheld(
    counts: Sequence[int], threshold: int, *, unshown: int | None = None
) -> tuple[set[int], set[int]]:
    """The positions of ``counts`` (one line) withheld for being small, and those withheld
    beside them (rule 2 of the module). ``unshown`` is a count of the line that is never shown
    (rule 3): it is always unknown, and small or not it counts toward the unknown cells."""
    small = {i for i, count in enumerate(counts) if is_small(count, threshold)}
    unknown = set(small)
    hidden_sum = sum(counts[i] for i in small)
    n_unknown = len(small)
    if unshown is not None:
        hidden_sum += unshown
        n_unknown += 1
    if not small and not (unshown is not None and is_small(unshown, threshold)):
        return small, set()
    beside: set[int] = set()
    candidates = sorted(
        (count, i) for i, count in enumerate(counts) if i not in unknown and count > 0
    )
    for count, i in candidates:
        if n_unknown >= 2 and hidden_sum >= threshold:
            break
        beside.add(i)
        hidden_sum += count
        n_unknown += 1
    return small, beside


def released_total(count: int, threshold: int) -> int | None:
    """A total as shown: ``None`` (withheld) from 1 to ``threshold - 1``."""
    return None if is_small(count, threshold) else count


def distribution(
    labelled: Sequence[tuple[str, int]], total: int, threshold: int
) -> tuple[Cell, ...]:
    """``(label, count)`` cells that add up to ``total`` (one line), released. Under a small
    total every non-zero cell is withheld."""
    if is_small(total, threshold):
        return tuple(
            Cell(label, None, None, small=True) if count else Cell(label, 0, None)
            for label, count in labelled
        )
    counts = [count for _label, count in labelled]
    small, beside = withheld(counts, threshold)
    return tuple(
        _cell(label, count, total, i in small, i in beside)
        for i, (label, count) in enumerate(labelled)
    )


def chosen(labelled: Sequence[tuple[str, int]], total: int, threshold: int) -> tuple[Cell, ...]:
    """``(label, count)`` of a multiple choice: how many of the ``total`` respondents chose
    each option. Each option is a line with those who did not choose it (never shown)."""
    if is_small(total, threshold):
        return distribution(labelled, total, threshold)
    cells = []
    for label, count in labelled:
        small, beside = withheld([count], threshold, unshown=total - count)
        cells.append(_cell(label, count, total, 0 in small, 0 in beside))
    return tuple(cells)


def _cell(label: str, count: int, total: int, small: bool, beside: bool) -> Cell:
    if small or beside:
        return Cell(label, None, None, small=small)
    return Cell(label, count, count / total if total else None)


def quartiles(values: Sequence[float], threshold: int) -> Quartiles | None:
    """The quartiles of ``values``; ``None`` for fewer than ``threshold`` of them (a median
    of a few numbers is one person's number)."""
    if len(values) < max(threshold, 1):
        return None
    q1, median, q3 = np.percentile(
        np.asarray(values, dtype=float), [25, 50, 75], method=QUANTILE_METHOD
    )
    return Quartiles(q1=float(q1), median=float(median), q3=float(q3))
