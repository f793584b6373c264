"""``python -m scoring similarity|ensemble``: thin command-line callers of ``field_report``.

Registered on the main parser by ``scoring.cli`` through :func:`add_subcommands`; each
subcommand stores its handler as ``run``. Invalid input raises ``InputError``, which the main
CLI prints (exit status 2).
"""

from __future__ import annotations

import argparse
import json

from scoring.cli.inputs import add_field_arguments, comma_list, read_entries


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


def run_similarity(args: argparse.Namespace) -> int:
    from scoring.cli.format import similarity_table
    from scoring.field_report import field_similarity

    names, truth, predictions = read_entries(args)
    report = field_similarity(
        names, truth, predictions, threshold=args.threshold, attributes=args.attributes
    )
    print(
        json.dumps(report, allow_nan=False) if args.format == "json" else similarity_table(report)
    )
    return 0


def run_ensemble(args: argparse.Namespace) -> int:
    from scoring.cli.format import ensemble_table
    from scoring.field_report import field_ensembles_report

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
