"""``python -m scoring similarity|ensemble``: thin command-line callers of ``field_report``.

Registered on the main parser by ``scoring.cli`` through :func:`add_subcommands`; each
subcommand stores its handler as ``run``. Invalid input raises ``InputError``, which the main
CLI prints (exit status 2).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scoring.field_report import field_ensembles_report, field_similarity
from scoring.io import read_predictions, read_truth
from scoring.similarity import MEASURES


def comma_list(text: str) -> list[str]:
    """``a, b,c`` as ``["a", "b", "c"]``: the CLI's lists of metrics and attributes."""
    return [item.strip() for item in text.split(",") if item.strip()]


def add_field_arguments(sub: argparse.ArgumentParser) -> None:
    """The arguments of every command over a field of entries: truth, predictions files,
    threshold and output format."""
    sub.add_argument("--truth", required=True, help="ground-truth CSV (binary task)")
    sub.add_argument("predictions", nargs="+", help="predictions CSVs, one per entry")
    sub.add_argument("--threshold", type=float, default=0.5)
    sub.add_argument("--format", choices=("table", "json"), default="table")


def add_subcommands(commands: argparse._SubParsersAction) -> None:
    """Add ``similarity`` and ``ensemble`` to the subcommands of ``python -m scoring``."""

    similarity = commands.add_parser(
        "similarity", help="pairwise similarity of entries, overall and per subgroup"
    )
    add_field_arguments(similarity)
    similarity.add_argument(
        "--attributes", type=comma_list, default=[], help="attributes to split by (default none)"
    )
    similarity.set_defaults(run=run_similarity)

    ensemble = commands.add_parser("ensemble", help="mean, vote and diverse ensembles of the top k")
    add_field_arguments(ensemble)
    ensemble.add_argument("--top-k", type=int, default=3)
    ensemble.add_argument("--metric", default="auroc", help="primary metric (default auroc)")
    ensemble.add_argument(
        "--attributes", type=comma_list, help="attributes for the worst group (default all)"
    )
    ensemble.add_argument("--min-group", type=int, default=30)
    ensemble.set_defaults(run=run_ensemble)


def read_entries(args: argparse.Namespace):
    """(names by file stem, truth, predictions) of ``--truth`` and the predictions files."""
    truth = read_truth(args.truth)
    predictions = [read_predictions(path, truth) for path in args.predictions]
    names = [Path(path.removesuffix(".gz")).stem for path in args.predictions]
    return names, truth, predictions


def run_similarity(args: argparse.Namespace) -> int:
    names, truth, predictions = read_entries(args)
    report = field_similarity(
        names, truth, predictions, threshold=args.threshold, attributes=args.attributes
    )
    print(
        json.dumps(report, allow_nan=False) if args.format == "json" else similarity_table(report)
    )
    return 0


def run_ensemble(args: argparse.Namespace) -> int:
    names, truth, predictions = read_entries(args)
    report = field_ensembles_report(
        names,
        truth,
        predictions,
        k=args.top_k,
        metric=args.metric,
        threshold=args.threshold,
        attributes=args.attributes,
        min_group=args.min_group,
    )
    print(
        json.dumps(report, allow_nan=False)
        if args.format == "json"
        else ensemble_table(report, args.metric)
    )
    return 0


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def similarity_table(report: dict) -> str:
    """One matrix per measure, overall then per group; "—" where undefined."""
    from scoring.cli import _table

    entries = report["entries"]

    def matrices(title: str, measures: dict) -> list[str]:
        return [
            f"{name} ({title})\n"
            + _table(
                ["", *entries],
                [
                    [entry, *(_number(v) for v in row)]
                    for entry, row in zip(entries, measures[name], strict=True)
                ],
            )
            for name in MEASURES
        ]

    parts = matrices("all cases", report["measures"])
    for group in report["groups"]:
        title = f"{group['attribute']} = {group['group']}, n = {group['n']}"
        parts += matrices(title, group["measures"])
    return "\n\n".join(parts)


def ensemble_table(report: dict, metric: str) -> str:
    """One row per ensemble: members, the primary metric, its gain, and the worst group."""
    from scoring.cli import _table

    rows = []
    for ensemble in report["ensembles"]:
        worst = ensemble["worst_group"]
        rows.append(
            [
                ensemble["name"],
                ", ".join(ensemble["members"]),
                _number(ensemble["metrics"][metric]),
                _number(ensemble["gain_over_best"][metric]),
                "—" if worst is None else f"{worst['attribute']} = {worst['group']}",
                "—" if worst is None else _number(worst["metrics"][metric]),
            ]
        )
    header = ["ensemble", "members", metric, "gain over best", "worst group", f"worst {metric}"]
    return _table(header, rows)
