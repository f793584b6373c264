"""``python -m scoring warm``: compile the numba kernels now (``scoring.warmup``).

Registered on the main parser by ``scoring.cli`` through :func:`add_subcommands`.
"""

from __future__ import annotations

import argparse


def add_subcommands(commands: argparse._SubParsersAction) -> None:
    """Add ``warm`` to the subcommands of ``python -m scoring``."""
    warm = commands.add_parser(
        "warm",
        help="compile the scoring kernels into numba's cache, so the first submission need not",
    )
    warm.set_defaults(run=run_warm)


def run_warm(args: argparse.Namespace) -> int:
    from scoring.warmup import warm_kernels

    report = warm_kernels()
    print(
        f"Scoring kernels ({report.kernels}): {report.compiled} signatures compiled, "
        f"{report.loaded} loaded from the cache, in {report.seconds:.1f} s "
        f"(cache: {', '.join(report.cache_dirs)})"
    )
    return 0
