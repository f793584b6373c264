"""Benchmark of the web app's field update after a new submission (issue 6).

1. Reading one entry's per-case results: parsing and validating its CSV (``read_predictions``)
   against loading the stored ``.npy`` array (what ``competitions.case_results`` does).
2. The similarity matrices after one new entry joins a field of S entries: the full recompute
   (``similarity_matrices``) against the update (``updated_similarity_matrices``: one row),
   and the largest difference between the two.
3. The same for the whole report, overall and per subgroup (``similarity_report`` against
   ``updated_similarity_report``) on a smaller field, JSON conversion included.

Run from the repository root:

    .venv/bin/python benchmarks/field_update.py

Synthetic data as in benchmarks/similarity.py (prevalence 30 %, correlated entries).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import tempfile
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from benchmarks.similarity import synthetic_field  # noqa: E402
from scoring.io import read_predictions, read_truth  # noqa: E402
from scoring.similarity import (  # noqa: E402
    MEASURES,
    similarity_matrices,
    similarity_report,
    updated_similarity_matrices,
    updated_similarity_report,
)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def reading(labels: np.ndarray, scores: np.ndarray) -> None:
    ids = np.array([f"c{i:07d}" for i in range(len(labels))], dtype=object)
    truth_csv = pd.DataFrame({"case_id": ids, "label": labels}).to_csv(index=False).encode()
    truth = read_truth(io.BytesIO(truth_csv))
    order = np.random.default_rng(1).permutation(len(ids))
    csv = pd.DataFrame({"case_id": ids[order], "score": np.round(scores[order], 6)})
    csv_bytes = csv.to_csv(index=False).encode()
    _predictions, parse = timed(read_predictions, io.BytesIO(csv_bytes), truth)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "scores.npy")
        np.save(path, scores)
        _array, load = timed(np.load, path)
    print(
        f"one entry, N={len(labels)}: parse CSV {parse:.3f} s "
        f"({len(csv_bytes) / 1e6:.1f} MB), load .npy {load * 1000:.1f} ms "
        f"({scores.nbytes / 1e6:.1f} MB), ratio {parse / load:.0f}x"
    )


def matrices(labels, scores, decisions) -> None:
    size = decisions.shape[0]
    previous = similarity_matrices(decisions[:-1], labels, scores[:-1])
    full, full_time = timed(similarity_matrices, decisions, labels, scores)
    reuse = [*range(size - 1), None]
    update, update_time = timed(
        updated_similarity_matrices, decisions, labels, scores, previous, reuse
    )
    difference = max(float(np.nanmax(np.abs(full[m] - update[m]))) for m in MEASURES)
    print(
        f"matrices, S={size} x N={len(labels)}, one new entry: full {full_time:.2f} s, "
        f"update {update_time:.2f} s, ratio {full_time / update_time:.0f}x, "
        f"largest difference {difference:.1e}"
    )


def report(labels, scores, decisions, groups) -> None:
    size = decisions.shape[0]
    names = [f"e{i}" for i in range(size)]
    attributes = {"group": groups}
    previous = similarity_report(names[:-1], decisions[:-1], labels, scores[:-1], attributes)
    _full, full_time = timed(similarity_report, names, decisions, labels, scores, attributes)
    _update, update_time = timed(
        updated_similarity_report, names, decisions, labels, scores, attributes,
        previous=previous, reuse=[*range(size - 1), None],
    )
    print(
        f"report with {len(set(groups))} subgroups, S={size} x N={len(labels)}, one new entry: "
        f"full {full_time:.2f} s, update {update_time:.2f} s, "
        f"ratio {full_time / update_time:.0f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--report-entries", type=int, default=200)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs")
    labels, scores, decisions = synthetic_field(args.entries, args.cases, args.seed)
    reading(labels, scores[0])
    matrices(labels, scores, decisions)
    groups = np.random.default_rng(args.seed).choice(["a", "b", "c", "d"], size=args.cases)
    subset = slice(0, args.report_entries)
    report(labels, scores[subset], decisions[subset], groups)


if __name__ == "__main__":
    main()
