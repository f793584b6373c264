"""Arguments and input files the command groups share: comma lists, attribute pairs, and a field
of entries (a ground truth and one predictions file per entry)."""

from __future__ import annotations

import argparse
from pathlib import Path

from scoring.groups import parse_pairs
from scoring.io import Predictions, Truth, read_predictions, read_truth


def comma_list(text: str) -> list[str]:
    """``a, b,c`` as ``["a", "b", "c"]``: the CLI's lists of metrics and attributes."""
    return [item.strip() for item in text.split(",") if item.strip()]


def pairs(text: str) -> list[tuple[str, str]]:
    """``a:b,c:d`` as attribute pairs; argparse reports a malformed one as a usage error."""
    try:
        return parse_pairs(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_field_arguments(sub: argparse.ArgumentParser) -> None:
    """The arguments of every command over a field of entries: truth, predictions files,
    threshold and output format."""
    sub.add_argument("--truth", required=True, help="ground-truth CSV (binary task)")
    sub.add_argument("predictions", nargs="+", help="predictions CSVs, one per entry")
    sub.add_argument("--threshold", type=float, default=0.5)
    sub.add_argument("--format", choices=("table", "json"), default="table")


def read_entries(args: argparse.Namespace) -> tuple[list[str], Truth, list[Predictions]]:
    """(names by file stem, truth, predictions) of ``--truth`` and the predictions files."""
    truth = read_truth(args.truth)
    predictions = [read_predictions(path, truth) for path in args.predictions]
    names = [Path(path.removesuffix(".gz")).stem for path in args.predictions]
    return names, truth, predictions
