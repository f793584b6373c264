"""``python -m surveys.analysis funnel|retention --people people.csv --phase-end TIME``.

Reads a people table (``surveys.analysis.people``: one row per person, times in ISO 8601) and
prints the funnel or the retention curves as CSV (the export's funnel.csv / retention.csv) or
JSON. Small cells are withheld as on the research page (``--threshold``, default 5).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from surveys.analysis import SMALL_CELL_THRESHOLD
from surveys.analysis.funnel import funnel, funnel_frame
from surveys.analysis.people import PeopleError, read_people
from surveys.analysis.retention import retention, retention_frame


def _time(text: str) -> datetime:
    stamp = pd.Timestamp(text)
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.to_pydatetime()


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m surveys.analysis", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)
    for name, text in (("funnel", "the participation funnel per arm"),
                       ("retention", "Kaplan–Meier curves per arm and the log-rank tests")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--people", required=True, help="the people table (CSV)")
        command.add_argument("--phase-end", required=True, type=_time,
                             help="when the phase ends (ISO 8601; UTC unless it says)")
        command.add_argument("--now", type=_time, default=datetime.now(UTC),
                             help="the time of the export (default: now)")
        command.add_argument("--threshold", type=int, default=SMALL_CELL_THRESHOLD,
                             help="withhold cells of fewer people (default: %(default)s)")
        command.add_argument("--arms", help="arm names in order, comma-separated; the first "
                             "is the reference (default: sorted)")
        command.add_argument("--variable", help="split by the table's group column, named so")
        command.add_argument("--format", choices=("csv", "json"), default="csv")
        if name == "funnel":
            command.add_argument("--joined", type=int,
                                 help="how many joined (default: the table's rows)")
    return main


def _plain(value):
    """JSON-ready: tuples to lists, NaN to null."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        people = read_people(args.people)
    except (OSError, PeopleError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    options = {
        "phase_end": args.phase_end,
        "now": args.now,
        "threshold": args.threshold,
        "arms": args.arms.split(",") if args.arms else None,
        "variable": args.variable,
    }
    if args.command == "funnel":
        result = funnel(people, joined=args.joined, **options)
        frame = funnel_frame(result)
    else:
        result = retention(people, **options)
        frame = retention_frame(result)
    if args.format == "json":
        json.dump(_plain(dataclasses.asdict(result)), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        frame.to_csv(sys.stdout, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
