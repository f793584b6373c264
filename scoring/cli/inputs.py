"""Arguments and input files the command groups share: comma lists, attribute pairs, and a field
of entries (a ground truth and one predictions file per entry)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from scoring.error_costs import UNIT_COSTS, ErrorCosts, parse_costs
from scoring.errors import InputError
from scoring.groups import parse_pairs
from scoring.io import TASKS, Predictions, Truth, read_predictions, read_truth


def comma_list(text: str) -> list[str]:
    """``a, b,c`` as ``["a", "b", "c"]``: the CLI's lists of metrics and attributes."""
    return [item.strip() for item in text.split(",") if item.strip()]


def pairs(text: str) -> list[tuple[str, str]]:
    """``a:b,c:d`` as attribute pairs; argparse reports a malformed one as a usage error."""
    try:
        return parse_pairs(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def costs(text: str) -> ErrorCosts:
    """``fn=5,fp=1`` as :class:`ErrorCosts`; argparse reports a malformed one as a usage error."""
    try:
        return parse_costs(text)
    except InputError as error:
        raise argparse.ArgumentTypeError("; ".join(error.problems)) from None


def add_costs_argument(sub: argparse.ArgumentParser) -> None:
    """``--costs fn=…,fp=…``: the weights of ``expected_cost`` (default: 1 each)."""
    sub.add_argument("--costs", type=costs, default=UNIT_COSTS,
                     help="costs of a false negative and a false positive for expected_cost, "
                     "fn=5,fp=1 (default fn=1,fp=1: the error rate)")


def add_field_arguments(sub: argparse.ArgumentParser, *, any_task: bool = False) -> None:
    """The arguments of every command over a field of entries: truth, predictions files,
    threshold and output format; with ``any_task`` also ``--task`` and ``--classes`` (the
    commands that are not binary-only)."""
    if any_task:
        sub.add_argument("--truth", required=True, help="ground-truth CSV (.csv or .csv.gz)")
        sub.add_argument("--task", choices=TASKS, default="binary")
        sub.add_argument("--classes", type=comma_list, help="multiclass class order, a,b,c")
    else:
        sub.add_argument("--truth", required=True, help="ground-truth CSV (binary task)")
    sub.add_argument("predictions", nargs="+", help="predictions CSVs, one per entry")
    sub.add_argument("--threshold", type=float, default=0.5)
    sub.add_argument("--format", choices=("table", "json"), default="table")


def read_entries(args: argparse.Namespace) -> tuple[list[str], Truth, list[Predictions]]:
    """(names by file stem, truth, predictions) of ``--truth`` and the predictions files, for
    ``args.task`` when the command has ``--task`` (else binary)."""
    task = getattr(args, "task", "binary")
    truth = read_truth(args.truth, task=task, classes=getattr(args, "classes", None))
    predictions = [read_predictions(path, truth, task=task) for path in args.predictions]
    names = [Path(path.removesuffix(".gz")).stem for path in args.predictions]
    return names, truth, predictions


def split_cases(truth: Truth, split: str | None) -> np.ndarray | None:
    """The boolean mask of one split of the ground truth's cases; None (all cases) without a
    split. Raises :class:`InputError` when the ground truth has no ``split`` column."""
    if split is None:
        return None
    if truth.split is None:
        raise InputError(f"--split {split} needs a 'split' column in the ground truth; "
                         "it has none, so only all cases can be used")
    return np.asarray(truth.split) == split
