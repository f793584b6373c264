"""``python -m scoring leaderboard|label-bias``: thin command-line callers of
:func:`scoring.leaderboard.compute_leaderboard` and :func:`scoring.label_bias.label_bias_stress`.

Registered on the main parser by ``scoring.cli``; entries are named by their file's stem.
Invalid input raises ``InputError``, which the main CLI prints (exit status 2, no traceback).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import TYPE_CHECKING

from scoring.cli.inputs import (
    add_costs_argument,
    add_field_arguments,
    comma_list,
    read_entries,
    split_cases,
)
from scoring.errors import InputError
from scoring.vocabulary import RULES, SPLITS

if TYPE_CHECKING:
    from scoring.field import Field


def add_subcommands(commands: argparse._SubParsersAction) -> None:
    """Add ``leaderboard`` and ``label-bias`` to the subcommands of ``python -m scoring``."""

    def common(sub: argparse.ArgumentParser) -> None:
        add_field_arguments(sub)
        add_costs_argument(sub)
        sub.add_argument("--ranking", choices=RULES, default="mean_rank")
        sub.add_argument("--metrics", type=comma_list, default=["auroc"],
                         help="column ids: auroc, sensitivity@sex=female, auroc@worst(sex), ...")
        sub.add_argument("--primary", help="column of primary/worst_group/rank_then_aggregate "
                         "(default: the first)")
        sub.add_argument("--worst-group-on", help="attribute of the worst_group rule")
        sub.add_argument("--split", choices=SPLITS,
                         help="rank on one split of the ground truth (default: all cases)")
        sub.add_argument("--min-group", type=int, default=1,
                         help="groups with fewer cases have no value (default 1)")

    board = commands.add_parser("leaderboard", help="rank entries and bootstrap the ranking")
    common(board)
    board.add_argument("--attributes", type=comma_list, default=[],
                       help="show every metric on each group of these attributes (not ranked)")
    board.add_argument("--bootstrap", type=int, default=1000, help="resamples (0: none)")
    board.add_argument("--seed", type=int, default=0)
    board.add_argument("--sensitivity", action="store_true",
                       help="add the sensitivity panel: the ranking under the other rules, each "
                       "ranked column alone and the median over cases")
    board.set_defaults(run=run_leaderboard)

    bias = commands.add_parser(
        "label-bias", help="hide a share of one group's positives and rank again"
    )
    common(bias)
    bias.add_argument("--attribute", required=True)
    bias.add_argument("--group", required=True)
    bias.add_argument("--share", type=float, required=True, help="share of positives hidden")
    bias.add_argument("--seed", type=int, default=0)
    bias.set_defaults(run=run_label_bias)


def _field(args: argparse.Namespace) -> Field:
    """The field of the predictions files, configured by the command's options."""
    from scoring.field import Field
    from scoring.field_report import stack_field

    names, truth, predictions = read_entries(args)
    labels, scores, decisions = stack_field(truth, predictions, threshold=args.threshold)
    cases = split_cases(truth, args.split)
    return Field(
        names=names, labels=labels, scores=scores, attributes=truth.attributes,
        columns=args.metrics, ranking=args.ranking, primary=args.primary,
        worst_group_on=args.worst_group_on, threshold=args.threshold, costs=args.costs,
        cases=cases,
        min_group_size=args.min_group, decisions=decisions,
    )


def run_leaderboard(args: argparse.Namespace) -> int:
    from scoring.cli.format import leaderboard_table, sensitivity_table
    from scoring.leaderboard import compute_leaderboard
    from scoring.sensitivity import field_sensitivity

    field = _field(args)
    unknown = [name for name in args.attributes if name not in field.attributes]
    if unknown:
        raise InputError(f"unknown attribute {', '.join(unknown)}; the ground truth has "
                         + (", ".join(field.attributes) or "no attribute columns"))
    metrics = list(dict.fromkeys(column.partition("@")[0] for column in args.metrics))
    shown = [
        f"{metric}@{attribute}={group}"
        for attribute in args.attributes
        for group in sorted(set(field.attributes[attribute][field.selected()]))
        for metric in metrics
    ]
    result = compute_leaderboard(
        dataclasses.replace(field, shown=shown), bootstrap=args.bootstrap, seed=args.seed
    )
    document = result.to_dict()
    if args.sensitivity:
        document["sensitivity"] = field_sensitivity(field).to_dict(list(field.names))
    if args.format == "json":
        print(json.dumps(document, allow_nan=False))
    else:
        print(leaderboard_table(result))
        if args.sensitivity:
            print("\n" + sensitivity_table(document["sensitivity"]))
    return 0


def run_label_bias(args: argparse.Namespace) -> int:
    from scoring.cli.format import label_bias_table
    from scoring.label_bias import label_bias_stress

    result = label_bias_stress(_field(args), attribute=args.attribute, group=args.group,
                               share=args.share, seed=args.seed)
    print(json.dumps(result.to_dict(), allow_nan=False) if args.format == "json"
          else label_bias_table(result))
    return 0
