"""``python -m scoring compare``: a thin command-line caller of
:func:`scoring.compare.compare_entries`.

Registered on the main parser by ``scoring.cli`` through :func:`add_subcommands`; entries are
named by their file's stem. Invalid input raises ``InputError``, which the main CLI prints
(exit status 2).
"""

from __future__ import annotations

import argparse
import json

from scoring.cli.inputs import add_costs_argument, add_field_arguments, read_entries, split_cases
from scoring.vocabulary import SPLITS

ALL_CASES = "all"


def add_subcommands(commands: argparse._SubParsersAction) -> None:
    """Add ``compare`` to the subcommands of ``python -m scoring``."""
    compare = commands.add_parser(
        "compare", help="test every pair of entries on one metric, Holm-corrected"
    )
    add_field_arguments(compare, any_task=True)
    add_costs_argument(compare)
    compare.add_argument("--metric", required=True, help="one metric id of the task")
    compare.add_argument("--split", choices=(ALL_CASES, *SPLITS), default=ALL_CASES,
                         help="compare on one split of the ground truth (default: all cases)")
    compare.add_argument("--alpha", type=float, default=0.05,
                         help="family-wise error rate of Holm's correction")
    compare.add_argument("--bootstrap", type=int, default=1000,
                         help="paired resamples for the intervals (at least 1)")
    compare.add_argument("--seed", type=int, default=0)
    compare.set_defaults(run=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    from scoring.cli.format import comparison_table
    from scoring.compare import compare_entries

    names, truth, predictions = read_entries(args)
    cases = split_cases(truth, None if args.split == ALL_CASES else args.split)
    result = compare_entries(
        truth, predictions, names, metric=args.metric, threshold=args.threshold, costs=args.costs,
        cases=cases,
        alpha=args.alpha, bootstrap=args.bootstrap, seed=args.seed,
    )
    print(json.dumps(result.to_dict(), allow_nan=False) if args.format == "json"
          else comparison_table(result))
    return 0
