"""``python -m scoring evaluate|describe|metrics|similarity|ensemble|leaderboard|label-bias|
compare|fairness|advise|raters|warm``: thin command-line callers of the library.

Exit status 0 on success, 2 on invalid input (one line per problem on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from scoring.cli import (
    advice,
    comparison,
    evaluation,
    leaderboard,
    levelling,
    raters,
    similarity,
    warm,
)
from scoring.errors import InputError

INVALID_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scoring", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for group in (evaluation, similarity, leaderboard, comparison, levelling, advice, raters, warm):
        group.add_subcommands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every command stores its handler as ``run`` on the parsed arguments."""
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except InputError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return INVALID_INPUT
