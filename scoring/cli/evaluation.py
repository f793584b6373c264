"""``python -m scoring evaluate|describe|metrics``: thin command-line callers of
:func:`scoring.evaluate.evaluate`, :func:`scoring.describe.describe` and the metric registry.

Registered on the main parser by ``scoring.cli`` through :func:`add_subcommands`; each
subcommand stores its handler as ``run``. Invalid input raises ``InputError``, which the main
CLI prints (exit status 2).
"""

from __future__ import annotations

import argparse
import json

from scoring.cli.inputs import add_costs_argument, comma_list, pairs
from scoring.vocabulary import TASKS

# The power analysis's defaults: a sensitivity or specificity of 0.8, a difference of 0.05.
POWER_BASELINE = 0.8
POWER_DIFFERENCE = 0.05


def add_subcommands(commands: argparse._SubParsersAction) -> None:
    """Add ``evaluate``, ``describe`` and ``metrics`` to the subcommands of the main parser."""

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--truth", required=True, help="ground-truth CSV (.csv or .csv.gz)")
        sub.add_argument("--task", choices=TASKS, default="binary")
        sub.add_argument("--classes", type=comma_list, help="multiclass class order, a,b,c")
        sub.add_argument("--attributes", type=comma_list,
                         help="attributes to split by (default all)")
        sub.add_argument("--intersections", type=pairs, default=[], help="a:b,c:d")
        sub.add_argument("--min-group", type=int, default=30)
        sub.add_argument("--format", choices=("table", "json"), default="table")

    run = commands.add_parser("evaluate", help="score predictions against the ground truth")
    common(run)
    run.add_argument("--predictions", required=True)
    run.add_argument("--threshold", type=float, default=0.5)
    add_costs_argument(run)
    run.add_argument("--metrics", type=comma_list, help="metric ids (default: all of the task)")
    run.add_argument("--bootstrap", type=int, default=1000, help="resamples (0: no intervals)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--max-bytes", type=int, help="refuse larger prediction files")
    run.set_defaults(run=run_evaluate)
    report = commands.add_parser("describe", help="report on the ground truth's subgroups")
    common(report)
    report.add_argument("--power-baseline", type=float,
                        help=f"binary: baseline sensitivity/specificity of the power analysis "
                        f"(default {POWER_BASELINE})")
    report.add_argument("--power-difference", type=float,
                        help=f"binary: difference the power analysis must detect "
                        f"(default {POWER_DIFFERENCE})")
    report.set_defaults(run=run_describe)
    listing = commands.add_parser("metrics", help="list the metrics of a task")
    listing.add_argument("--task", choices=TASKS, default="binary")
    listing.add_argument("--format", choices=("table", "markdown"), default="table",
                         help="markdown: the table docs/metrics.md holds for the task")
    listing.set_defaults(run=run_metrics)


def run_evaluate(args: argparse.Namespace) -> int:
    from scoring.cli.format import evaluation_table
    from scoring.evaluate import evaluate
    from scoring.io import read_predictions, read_truth

    truth = read_truth(args.truth, task=args.task, classes=args.classes)
    predictions = read_predictions(args.predictions, truth, task=args.task,
                                   max_bytes=args.max_bytes)
    result = evaluate(
        truth, predictions, threshold=args.threshold, costs=args.costs, metrics=args.metrics,
        attributes=args.attributes, intersections=args.intersections,
        bootstrap=args.bootstrap, seed=args.seed, min_group=args.min_group,
    )
    print(json.dumps(result.to_dict(), allow_nan=False) if args.format == "json"
          else evaluation_table(result))
    return 0


def run_describe(args: argparse.Namespace) -> int:
    """Binary tasks get each group's power at the given (or default) baseline and difference;
    for the other tasks, asking for power is refused by ``describe``."""
    from scoring.cli.format import describe_table
    from scoring.describe import describe
    from scoring.io import read_truth

    truth = read_truth(args.truth, task=args.task, classes=args.classes)
    asked = args.power_baseline is not None or args.power_difference is not None
    power = None
    if args.task == "binary" or asked:
        power = (POWER_BASELINE if args.power_baseline is None else args.power_baseline,
                 POWER_DIFFERENCE if args.power_difference is None else args.power_difference)
    result = describe(truth, attributes=args.attributes, intersections=args.intersections,
                      min_group=args.min_group, power=power)
    print(json.dumps(result, indent=1) if args.format == "json" else describe_table(result))
    return 0


def run_metrics(args: argparse.Namespace) -> int:
    from scoring.cli.format import metrics_listing, metrics_markdown
    from scoring.registry import metrics_for

    metrics = metrics_for(args.task)
    print(metrics_markdown(args.task, metrics) if args.format == "markdown"
          else metrics_listing(metrics))
    return 0
