"""The one CSV writer of the project: cells that a spreadsheet would run as a formula are
written as text.

A team called ``=HYPERLINK("http://evil.example","win")`` or a survey answer
``=cmd|' /C calc'!A0`` would otherwise run in the spreadsheet of whoever opens the leaderboard
CSV, a study export or the contact list (CSV injection). Following OWASP's advice
(https://owasp.org/www-community/attacks/CSV_Injection), a text cell — a ``str`` value — that
begins with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return or NUL gets a leading ``'``,
which spreadsheets show as text. Numbers and booleans, negative ones included, are never
prefixed, so data stays numeric for R, pandas, SPSS and Stata. ``.sav``/``.dta`` files run no
formulas and are written as they are.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralised(value: Any) -> Any:
    """``value``, with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose rows pass ``neutralised`` cell by cell."""

    def __init__(self, out, **options) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([neutralised(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are neutralised (numeric columns untouched)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralised)
    return out


def frame_to_csv(frame: pd.DataFrame, path, **options) -> None:
    """``frame.to_csv(path, index=False)`` with text cells neutralised."""
    safe_frame(frame).to_csv(path, index=False, **options)
