"""Benchmark of the pairwise comparison of a field on AUROC (evaluation science, section 1).

1. ``compare_entries`` on S entries x N cases (default 200 x 10,000: 19,900 pairs) with the
   default 1,000 paired-bootstrap resamples: the whole comparison (every value and resample,
   DeLong's test vectorised over the field, Holm, the intervals) and the process's peak
   resident memory, then DeLong's test alone.
2. DeLong's test in the straightforward way, one call per pair (midranks of both entries and a
   2 x 2 covariance each time), over the same pairs: its time, the ratio, and the largest
   difference between the two p-values.

Run from the repository root:

    .venv/bin/python benchmarks/compare.py

The data are the leaderboard benchmark's synthetic field: labels with a prevalence of 30 %, each
entry's score a noisy copy of a shared signal rounded to 3 decimals (entries are correlated and
tie, as in a real field).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np
from scipy.stats import norm, rankdata

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

# The leaderboard benchmark's field and memory probe (this folder is on the path of a script).
from leaderboard import peak_rss_mib, synthetic_field  # noqa: E402

from scoring.compare import compare_entries  # noqa: E402
from scoring.delong import delong  # noqa: E402
from scoring.io import Predictions, Truth  # noqa: E402


def delong_pair(labels: np.ndarray, first: np.ndarray, second: np.ndarray) -> float:
    """Two-sided DeLong p for one pair, from scratch (Sun & Xu 2014, two entries)."""
    positive = labels == 1
    m, n = int(positive.sum()), int((~positive).sum())
    v10, v01 = [], []
    for scores in (first, second):
        x, y = scores[positive], scores[~positive]
        t_z = rankdata(np.concatenate([x, y]))
        v10.append((t_z[:m] - rankdata(x)) / n)
        v01.append(1.0 - (t_z[m:] - rankdata(y)) / m)
    covariance = np.cov(v10) / m + np.cov(v01) / n
    variance = covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1]
    z = (np.mean(v10[0]) - np.mean(v10[1])) / np.sqrt(variance)
    return float(2 * norm.sf(abs(z)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    labels, scores = synthetic_field(args.entries, args.cases, args.seed)
    truth = Truth(case_ids=np.array([f"c{i}" for i in range(args.cases)], dtype=object),
                  labels=labels, attributes={}, split=None, task="binary")
    predictions = [Predictions("binary", scores=row) for row in scores]
    names = [f"entry{i:03d}" for i in range(args.entries)]
    pairs = args.entries * (args.entries - 1) // 2
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")

    # Compile the numba kernels outside the timing (they are cached on disk after the first run).
    compare_entries(truth, predictions[:2], names[:2], metric="auroc", bootstrap=2)

    before = peak_rss_mib()
    start = time.perf_counter()
    comparison = compare_entries(truth, predictions, names, metric="auroc",
                                 bootstrap=args.bootstrap, seed=args.seed)
    whole = time.perf_counter() - start
    print(f"compare_entries, {args.entries} x {args.cases:,}, {pairs:,} pairs, "
          f"B = {args.bootstrap}: {whole:.2f} s, peak RSS {peak_rss_mib():,.0f} MiB "
          f"({before:,.0f} before)")

    start = time.perf_counter()
    upper, lower = np.triu_indices(args.entries, k=1)
    vectorised = delong(labels, scores).p_values(upper, lower)
    field_time = time.perf_counter() - start
    print(f"DeLong over the field (vectorised): {field_time:.3f} s")

    start = time.perf_counter()
    looped = np.array([delong_pair(labels, scores[i], scores[j])
                       for i, j in zip(upper, lower, strict=True)])
    loop_time = time.perf_counter() - start
    print(f"DeLong per pair (loop): {loop_time:.2f} s; ratio {loop_time / field_time:,.0f}x; "
          f"largest difference of p {np.max(np.abs(vectorised - looped)):.1e}")
    significant = sum(pair.significant for pair in comparison.pairs)
    print(f"{significant:,} of {pairs:,} pairs significant after Holm; "
          f"{len(comparison.tied_with_leader)} entries tied with the leader")


if __name__ == "__main__":
    main()
