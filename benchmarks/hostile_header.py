"""How long a predictions file with a hostile header keeps the worker: reading it with
``scoring.io.read_predictions`` (which checks the header first) and, for comparison, pandas
parsing it alone. ``CHEETAH_ROOT`` names another checkout to measure (e.g. the commit before
the header check) with the same script.

    .venv/bin/python benchmarks/hostile_header.py [--columns 10000 20000]
    CHEETAH_ROOT=/path/to/old/checkout .venv/bin/python benchmarks/hostile_header.py
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, os.environ.get("CHEETAH_ROOT") or str(Path(__file__).resolve().parents[1]))

from scoring.errors import InputError  # noqa: E402
from scoring.io import read_predictions, read_truth  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--columns", type=int, nargs="+", default=[10_000, 20_000])
    args = parser.parse_args()
    n = 2_000
    truth = read_truth(io.BytesIO(
        ("case_id,label\n" + "".join(f"c{i},{i % 2}\n" for i in range(n))).encode()))
    for columns in args.columns:
        header = ",".join(f"c{i}" for i in range(columns))
        data = (header + "\n" + "0," * (columns - 1) + "0\n").encode()
        start = time.perf_counter()
        try:
            read_predictions(io.BytesIO(data), truth)
        except InputError as exc:
            message = exc.problems[0][:60]
        checked = time.perf_counter() - start
        start = time.perf_counter()
        pd.read_csv(io.BytesIO(data), header=None, dtype=str, keep_default_na=False)
        parsed = time.perf_counter() - start
        print(f"{columns:,} columns, {len(data) / 1000:.0f} kB: refused in {checked * 1000:.1f} ms "
              f"({message!r}); pandas alone parses it in {parsed * 1000:.0f} ms")


if __name__ == "__main__":
    main()
