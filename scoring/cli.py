"""``python -m scoring evaluate|describe|metrics|similarity|ensemble|leaderboard|label-bias``:
thin command-line callers of the library.

Exit status 0 on success, 2 on invalid input (one line per problem on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from scoring.describe import describe
from scoring.errors import InputError
from scoring.evaluate import evaluate
from scoring.groups import parse_pairs
from scoring.io import TASKS, read_predictions, read_truth
from scoring.leaderboard_cli import add_subcommands as add_leaderboard_subcommands
from scoring.registry import metrics_for
from scoring.result import MetricValue, SplitResult
from scoring.similarity_cli import add_subcommands

INVALID_INPUT = 2


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _pairs(text: str) -> list[tuple[str, str]]:
    try:
        return parse_pairs(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scoring", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--truth", required=True, help="ground-truth CSV (.csv or .csv.gz)")
        sub.add_argument("--task", choices=TASKS, default="binary")
        sub.add_argument("--classes", type=_list, help="multiclass class order, a,b,c")
        sub.add_argument("--attributes", type=_list, help="attributes to split by (default all)")
        sub.add_argument("--intersections", type=_pairs, default=[], help="a:b,c:d")
        sub.add_argument("--min-group", type=int, default=30)
        sub.add_argument("--format", choices=("table", "json"), default="table")

    run = commands.add_parser("evaluate", help="score predictions against the ground truth")
    common(run)
    run.add_argument("--predictions", required=True)
    run.add_argument("--threshold", type=float, default=0.5)
    run.add_argument("--metrics", type=_list, help="metric ids (default: all of the task)")
    run.add_argument("--bootstrap", type=int, default=1000, help="resamples (0: no intervals)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--max-bytes", type=int, help="refuse larger prediction files")
    report = commands.add_parser("describe", help="report on the ground truth's subgroups")
    common(report)
    listing = commands.add_parser("metrics", help="list the metrics of a task")
    listing.add_argument("--task", choices=TASKS, default="binary")
    add_subcommands(commands)
    add_leaderboard_subcommands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if hasattr(args, "run"):
            return args.run(args)
        if args.command == "metrics":
            for metric in metrics_for(args.task):
                print(f"{metric.id:<28} {metric.direction:<7} {metric.description}")
            return 0
        truth = read_truth(args.truth, task=args.task, classes=args.classes)
        if args.command == "describe":
            result = describe(truth, attributes=args.attributes,
                              intersections=args.intersections, min_group=args.min_group)
            print(json.dumps(result, indent=1) if args.format == "json"
                  else describe_table(result))
            return 0
        predictions = read_predictions(args.predictions, truth, task=args.task,
                                       max_bytes=args.max_bytes)
        result = evaluate(
            truth, predictions, threshold=args.threshold, metrics=args.metrics,
            attributes=args.attributes, intersections=args.intersections,
            bootstrap=args.bootstrap, seed=args.seed, min_group=args.min_group,
        )
    except InputError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return INVALID_INPUT
    print(json.dumps(result.to_dict(), allow_nan=False) if args.format == "json"
          else evaluation_table(result))
    return 0


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _cell(entry: MetricValue) -> str:
    text = _number(entry.value)
    if entry.ci:
        text += f" [{entry.ci[0]:.3f}, {entry.ci[1]:.3f}]"
    return text


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def evaluation_table(result: SplitResult) -> str:
    """The ``--format table`` rendering of :func:`scoring.evaluate.evaluate`'s result."""
    metrics = result.metric_ids
    parts = [f"{result.task}, {result.n_cases} cases"
             + (f", threshold {result.threshold}" if result.threshold is not None else "")]
    parts.append(_table(["metric", "overall [95% CI]"],
                        [[m, _cell(result.overall[m])] for m in metrics]))
    attributes = result.attributes
    for attribute in attributes:
        rows = [
            [group.group, str(group.n) + (" small" if group.small else "")]
            + [_number(group.value(m)) for m in metrics]
            for group in result.groups_of(attribute)
        ]
        parts.append(_table([attribute, "n", *metrics], rows))
    if attributes:
        rows = [
            [m, a, _number(s.difference), _number(s.ratio), s.worst_group or "—",
             _number(s.worst_value)]
            for m in metrics for a, s in result.fairness[m].items()
        ]
        parts.append(_table(["metric", "attribute", "difference", "ratio", "worst group",
                             "worst value"], rows))
        keys = list(next(iter(result.parity.values())).measures)
        rows = [[a, *(_number(p.get(k)) for k in keys)] for a, p in result.parity.items()]
        parts.append(_table(["attribute", *keys], rows))
    return "\n\n".join(parts)


def describe_table(report: dict) -> str:
    """The ``--format table`` rendering of :func:`scoring.describe.describe`'s report."""
    binary = report["task"] == "binary"
    parts = [f"{report['task']}, {report['n_cases']} cases"
             + (f", positive rate {report['positive_rate']:.3f}" if binary else "")]
    for attribute in report["attributes"]:
        header = [attribute["attribute"], "n", "share"]
        if binary:
            header += ["positives", "positive rate", "sensitivity ± (95%)"]
        rows = []
        for group in attribute["groups"]:
            row = [group["group"], str(group["n"]) + (" small" if group["small"] else ""),
                   f"{group['share']:.3f}"]
            if binary:
                row += [str(group["positives"]), f"{group['positive_rate']:.3f}",
                        _number(group["sensitivity_half_width"])]
            rows.append(row)
        parts.append(
            _table(header, rows)
            + f"\neffective number of groups {attribute['effective_groups']:.2f}; smallest: "
            + ", ".join(attribute["smallest"])
        )
    if report["warnings"]:
        parts.append("warnings:\n" + "\n".join(f"- {w}" for w in report["warnings"]))
    return "\n\n".join(parts)
