"""``python -m scoring advise``: a thin command-line caller of :mod:`scoring.advisor` — which
metrics suit a binary ground truth and the organiser's answers, and which of the board's
metrics Metrics Reloaded advises against.

Registered on the main parser by ``scoring.cli``. Invalid input raises ``InputError``, which the
main CLI prints (exit status 2).
"""

from __future__ import annotations

import argparse
import json

from scoring.cli.inputs import comma_list, costs


def add_subcommands(commands: argparse._SubParsersAction) -> None:
    """Add ``advise`` to the subcommands of ``python -m scoring``."""
    sub = commands.add_parser(
        "advise", help="recommend metrics for a binary task (Metrics Reloaded)"
    )
    sub.add_argument("--truth", required=True, help="ground-truth CSV (binary task)")
    sub.add_argument("--threshold", type=float,
                     help="the decision threshold the task prescribes (default: none given)")
    sub.add_argument("--calibration", action="store_true",
                     help="the scores must be usable as probabilities")
    sub.add_argument("--costs", type=costs,
                     help="the known costs of a false negative and a false positive, fn=5,fp=1 "
                     "(default: unknown)")
    sub.add_argument("--positives", action="store_true",
                     help="the interest lies in finding the positive cases")
    sub.add_argument("--metrics", type=comma_list,
                     help="the metrics on the board, m1,m2: warnings name only these (default: "
                     "every metric the rules advise against)")
    sub.add_argument("--min-group", type=int, default=30,
                     help="groups with fewer cases are left out of the prevalence comparison")
    sub.add_argument("--format", choices=("table", "json"), default="table")
    sub.set_defaults(run=run_advise)


def run_advise(args: argparse.Namespace) -> int:
    from scoring.advisor import advise, fingerprint
    from scoring.cli.format import advice_table
    from scoring.io import read_truth

    truth = read_truth(args.truth, task="binary")
    found = fingerprint(truth, threshold=args.threshold, calibration=args.calibration,
                        costs=args.costs, positives=args.positives, min_group=args.min_group)
    advice = advise(found, args.metrics)
    print(json.dumps(advice.to_dict(), allow_nan=False) if args.format == "json"
          else advice_table(advice))
    return 0
