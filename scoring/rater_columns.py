"""Which ground-truth columns hold the labels of individual raters (``label_<rater>``).

Kept apart from the reading of the file (``scoring.io``) so the rule is stated once: a column
whose name starts with ``label_`` is reserved for a rater's labels and is never an attribute,
so never a leaderboard subgroup (a rater's labels shown as groups would spell them out).
"""

from __future__ import annotations

from collections.abc import Sequence

RATER_PREFIX = "label_"
# Columns of a ground truth that are neither attributes nor raters.
FIXED_COLUMNS = ("case_id", "label", "split")
# Tasks whose ground truth may carry raters: their labels are classes a majority can be taken of.
RATER_TASKS = ("binary", "multiclass")


def is_rater_column(name: str) -> bool:
    return name.startswith(RATER_PREFIX)


def rater_columns(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(attribute_names, rater_columns)`` of a ground truth's header, in header order.

    Rater columns keep their full name (``label_ann``); :func:`rater_name` gives the rater."""
    attributes = [n for n in names if n not in FIXED_COLUMNS and not is_rater_column(n)]
    raters = [n for n in names if is_rater_column(n)]
    return attributes, raters


def rater_name(column: str) -> str:
    """``label_ann`` → ``ann``."""
    return column.removeprefix(RATER_PREFIX)


def rater_column_problems(columns: Sequence[str], task: str) -> list[str]:
    """Problems with the rater columns themselves (not their values): a task without classes,
    a column that names no rater."""
    problems = []
    if columns and task not in RATER_TASKS:
        problems.append(
            f"columns starting with {RATER_PREFIX!r} hold raters' labels, which only binary "
            f"and multiclass tasks have ({', '.join(columns)}); rename them to use them as "
            "attributes"
        )
    if RATER_PREFIX in columns:
        problems.append(f"column {RATER_PREFIX!r} names no rater (use {RATER_PREFIX}<rater>)")
    return problems
