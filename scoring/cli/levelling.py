"""``python -m scoring fairness``: a thin command-line caller of
:func:`scoring.levelling.levelling_report` — each entry's groups and gap per metric, its change
against a reference entry, whether it levelled down, and whether it meets the floors.

Entries are named by their file's stem (the reference too, which may also be an entry).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scoring.cli.inputs import add_costs_argument, add_field_arguments, comma_list, read_entries
from scoring.errors import InputError


def floors(text: str) -> dict[str, float]:
    """``m1=0.5,m2=0.7`` as ``{"m1": 0.5, "m2": 0.7}``; argparse reports a malformed one."""
    out = {}
    for item in comma_list(text):
        name, _sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r} is not metric=number") from None
    return out


def add_subcommands(commands: argparse._SubParsersAction) -> None:
    """Add ``fairness`` to the subcommands of ``python -m scoring``."""
    sub = commands.add_parser(
        "fairness", help="per-group values against a reference: levelling down and floors"
    )
    add_field_arguments(sub)
    add_costs_argument(sub)
    sub.add_argument("--reference", required=True, help="the reference entry's predictions")
    sub.add_argument("--attribute", required=True, help="the attribute whose groups to compare")
    sub.add_argument("--metrics", type=comma_list, required=True, help="metric ids, m1,m2")
    sub.add_argument("--min-group", type=int, default=30,
                     help="groups with fewer cases are left out (default 30)")
    sub.add_argument("--floor", type=floors, default={},
                     help="minimum per group, m1=0.5,m2=0.7 (a ceiling for lower-is-better)")
    sub.add_argument("--margin", type=float, default=0.01,
                     help="how much a value must move to count as changed (default 0.01)")
    sub.set_defaults(run=run_fairness)


def run_fairness(args: argparse.Namespace) -> int:
    from scoring.io import read_predictions
    from scoring.levelling import levelling_report

    names, truth, predictions = read_entries(args)
    reference = read_predictions(args.reference, truth)
    if args.min_group < 1:
        raise InputError("--min-group must be at least 1")
    report = levelling_report(
        truth, predictions, names, reference=reference,
        reference_name=Path(args.reference.removesuffix(".gz")).stem,
        attribute=args.attribute, metrics=args.metrics, threshold=args.threshold,
        costs=args.costs,
        min_group=args.min_group, floors=args.floor, margin=args.margin,
    )
    print(json.dumps(report, allow_nan=False) if args.format == "json" else _table(report))
    return 0


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _flag(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "no")


def _table(report: dict) -> str:
    lines = [f"attribute {report['attribute']}, reference {report['reference']}, "
             f"margin {report['margin']}"]
    for entry in report["entries"]:
        for metric, row in entry["metrics"].items():
            groups = ", ".join(f"{g} {_number(v)} ({_number(row['change'].get(g))})"
                               if g in row["change"] else f"{g} {_number(v)}"
                               for g, v in row["groups"].items())
            lines.append(
                f"{entry['name']}  {metric}: {groups}; gap {_number(row['gap'])} "
                f"(reference {_number(row['reference_gap'])}); levelled down "
                f"{_flag(row['levelled_down'])}; meets floor {_flag(row['meets_floor'])}"
            )
    return "\n".join(lines)
