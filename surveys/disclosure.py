"""How identifiable the rows of a research export are, and withholding values until no row is
too rare.

A *quasi-identifier* is a variable that no one would call a name but that, combined with others,
singles a person out to someone who knows a little about them: the week they joined, the size of
their team, how often they submitted, their rank band, their arm, their age band and gender.
The export is *k-anonymous* when every combination of quasi-identifier values that occurs is
shared by at least k rows (Sweeney 2002, "k-anonymity: a model for protecting privacy",
Int. J. Uncertainty, Fuzziness and Knowledge-Based Systems 10(5)). A missing value counts as a
value of its own — "not released" is something an onlooker can see too.

When the smallest group is under the study's threshold, :func:`protect` withholds values
(*local suppression*; Hundepool et al. 2012, *Statistical Disclosure Control*, Wiley, ch. 3).
A withheld value is an empty cell, and an empty cell is a value of its own: a row whose rare
value is withheld but that is the only row with that cell empty would still stand out. So
withholding a quasi-identifier for the rows in too small a group withholds it as well in every
row that differs from them only in that variable, and those rows form one group. Each step takes
the quasi-identifier that leaves the fewest rows in too small a group (ties: the fewest cells
withheld, then the most distinct values among the rare rows, then the order of the variables)
and repeats while that helps; when no step helps, every quasi-identifier of the rows still in
too small a group is withheld, and the report warns that k stays under the threshold. k is
always computed on the cells as exported.

Plain pandas: no Django, no I/O. ``surveys.dataset`` says which columns are quasi-identifiers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: How an empty cell shows in a group's key: missing, not released and withheld alike, since
#: the file shows them alike.
EMPTY = "(empty)"


@dataclass(frozen=True)
class SmallGroup:
    """A combination of quasi-identifier values (as released) shared by fewer rows than the
    threshold."""

    size: int
    values: dict[str, str]


@dataclass
class DisclosureReport:
    """What the export's codebook states about re-identification.

    ``k_before`` and ``k`` are the smallest group sizes before and after suppression (``None``
    when there are no rows or no quasi-identifiers); ``alone`` is each quasi-identifier's own
    smallest group before suppression (it shows which variables make groups small without
    showing their values); ``withheld`` counts, per quasi-identifier, the rows in which it was
    withheld; ``small_groups`` are the groups still under the threshold after suppression.
    """

    threshold: int
    quasi_identifiers: dict[str, list[str]]
    k_before: int | None = None
    k: int | None = None
    rows_below_before: int = 0
    alone: dict[str, int] = field(default_factory=dict)
    withheld: dict[str, int] = field(default_factory=dict)
    small_groups: list[SmallGroup] = field(default_factory=list)

    @property
    def below_threshold(self) -> bool:
        return self.k is not None and self.k < self.threshold


def _value(cell) -> str:
    if cell is None or (not isinstance(cell, str) and pd.isna(cell)):
        return EMPTY
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    text = str(cell).strip().casefold()
    return text or EMPTY


def quasi_keys(frame: pd.DataFrame, groups: dict[str, list[str]]) -> pd.DataFrame:
    """One string column per quasi-identifier: its columns' values joined by ``", "``."""
    return pd.DataFrame(
        {
            name: [", ".join(_value(frame.at[i, c]) for c in columns) for i in frame.index]
            for name, columns in groups.items()
        },
        index=frame.index,
        dtype=object,
    )


def group_sizes(key_frame: pd.DataFrame) -> pd.Series:
    """For each row, how many rows share its combination of quasi-identifier values."""
    if key_frame.empty or not len(key_frame.columns):
        return pd.Series(len(key_frame), index=key_frame.index, dtype=int)
    return key_frame.groupby(list(key_frame.columns), sort=False)[key_frame.columns[0]].transform(
        "size"
    )


def smallest_group(key_frame: pd.DataFrame) -> int | None:
    if key_frame.empty or not len(key_frame.columns):
        return None
    return int(group_sizes(key_frame).min())


def protect(
    frame: pd.DataFrame, groups: dict[str, list[str]], threshold: int
) -> tuple[pd.DataFrame, DisclosureReport, dict[str, list]]:
    """``frame`` with quasi-identifier values withheld (empty) in rows of groups smaller than
    ``threshold``, the report, and per quasi-identifier the index labels of the rows where it
    was withheld (the long file withholds the same answers)."""
    report = DisclosureReport(threshold=threshold, quasi_identifiers=groups)
    key_frame = quasi_keys(frame, groups)
    withheld: dict[str, list] = {name: [] for name in groups}
    report.k_before = smallest_group(key_frame)
    if report.k_before is None:
        return frame, report, withheld
    report.alone = {name: smallest_group(key_frame[[name]]) for name in groups}
    report.rows_below_before = int((group_sizes(key_frame) < threshold).sum())
    order = list(groups)
    blank = {name: ", ".join([EMPTY] * len(columns)) for name, columns in groups.items()}
    while True:
        sizes = group_sizes(key_frame)
        small = key_frame.index[sizes < threshold]
        if not len(small):
            break
        best = None
        for position, name in enumerate(order):
            others = [c for c in order if c != name]
            rare = key_frame.loc[small, others].drop_duplicates()
            alike = list(key_frame.index)
            if others:
                table = key_frame[others].reset_index(names="_row")
                alike = table.merge(rare, on=others)["_row"].tolist()
            rows = [i for i in alike if key_frame.at[i, name] != blank[name]]
            if not rows:
                continue
            trial = key_frame.copy()
            trial.loc[rows, name] = blank[name]
            score = (
                int((group_sizes(trial) < threshold).sum()),
                len(rows),
                -key_frame.loc[small, name].nunique(),
                position,
            )
            if best is None or score < best[0]:
                best = (score, name, rows)
        if best is None or best[0][0] >= len(small):
            # Nothing merges the rare rows into a large enough group: withhold all they show.
            for name in order:
                rows = [i for i in small if key_frame.at[i, name] != blank[name]]
                key_frame.loc[rows, name] = blank[name]
                withheld[name] += rows
            break
        _score, name, rows = best
        key_frame.loc[rows, name] = blank[name]
        withheld[name] += rows
    out = frame.copy()
    for name, rows in withheld.items():
        if rows:
            columns = groups[name]
            out[columns] = out[columns].astype(object)
            out.loc[rows, columns] = None
    report.k = smallest_group(key_frame)
    report.withheld = {name: len(rows) for name, rows in withheld.items() if rows}
    sizes = group_sizes(key_frame)
    small = key_frame[sizes < threshold].drop_duplicates()
    report.small_groups = [
        SmallGroup(size=int(sizes[i]), values=dict(small.loc[i])) for i in small.index
    ]
    return out, report, withheld
