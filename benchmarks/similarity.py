"""Benchmark of the pairwise similarity measures (issue 6).

1. All seven measures for S entries x N cases (default 1,000 x 100,000) from arrays already in
   memory: wall time, and the process's peak resident memory (inputs included); then one
   entry's row against all the others (the update after a new submission).
2. The same measures on the first ``--loop-entries`` entries (default 100) against a loop over
   the pairs with scikit-learn (``cohen_kappa_score``, ``confusion_matrix``) and
   ``numpy.corrcoef``: both timings, their ratio, and the largest difference between the two.

Run from the repository root:

    .venv/bin/python benchmarks/similarity.py

The data are synthetic: labels with a prevalence of 30 %, and each entry's score a noisy copy
of a shared signal (so that entries are correlated, as in a real field), decided at 0.5.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from scoring.similarity import MEASURES, similarity_matrices, similarity_row  # noqa: E402


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_field(entries: int, cases: int, seed: int) -> tuple[np.ndarray, ...]:
    """Labels (N,), scores (S x N, float64) and decisions (S x N, bool), built row by row."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(cases) < 0.3).astype(np.int8)
    signal = labels + rng.normal(0.0, 0.6, cases)
    scores = np.empty((entries, cases))
    decisions = np.empty((entries, cases), dtype=bool)
    for i in range(entries):
        noisy = signal + rng.normal(0.0, rng.uniform(0.2, 1.0), cases)
        scores[i] = 1.0 / (1.0 + np.exp(-(noisy - 0.5) * 4))
        decisions[i] = scores[i] >= 0.5
    return labels, scores, decisions


def loop_with_sklearn(labels, scores, decisions) -> dict[str, np.ndarray]:
    """Every measure pair by pair: scikit-learn for kappas and counts, numpy for correlation."""
    from sklearn.metrics import cohen_kappa_score, confusion_matrix

    size = decisions.shape[0]
    correct = decisions == labels.astype(bool)
    out = {name: np.full((size, size), np.nan) for name in MEASURES}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(size):
            for j in range(i, size):
                pair = {}
                (d00, d01), (d10, d11) = confusion_matrix(decisions[i], decisions[j], labels=[0, 1])
                pair["agreement"] = (d00 + d11) / len(labels)
                pair["cohen_kappa"] = cohen_kappa_score(decisions[i], decisions[j])
                pair["error_consistency"] = cohen_kappa_score(correct[i], correct[j])
                # Rows: entry i wrong/right; columns: entry j wrong/right.
                (n00, n01), (n10, n11) = confusion_matrix(correct[i], correct[j], labels=[0, 1])
                denominator = n11 * n00 + n01 * n10
                pair["q_statistic"] = (
                    (n11 * n00 - n01 * n10) / denominator if denominator else np.nan
                )
                pair["disagreement"] = (n01 + n10) / len(labels)
                pair["double_fault"] = n00 / len(labels)
                pair["score_correlation"] = np.corrcoef(scores[i], scores[j])[0, 1]
                for name, value in pair.items():
                    out[name][i, j] = out[name][j, i] = value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--loop-entries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    labels, scores, decisions = synthetic_field(args.entries, args.cases, args.seed)
    inputs_mib = (labels.nbytes + scores.nbytes + decisions.nbytes) / 2**20
    before = peak_rss_mib()
    start = time.perf_counter()
    similarity_matrices(decisions, labels, scores)
    elapsed = time.perf_counter() - start
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs")
    print(
        f"all {len(MEASURES)} measures, S={args.entries} x N={args.cases}: {elapsed:.1f} s, "
        f"peak RSS {peak_rss_mib():.0f} MiB (inputs {inputs_mib:.0f} MiB, "
        f"peak RSS before the call {before:.0f} MiB)"
    )
    start = time.perf_counter()
    similarity_row(decisions, labels, scores, args.entries - 1)
    print(f"one entry's row against all {args.entries}: {time.perf_counter() - start:.2f} s")

    if args.loop_entries:
        subset = slice(0, args.loop_entries)
        start = time.perf_counter()
        matrices = similarity_matrices(decisions[subset], labels, scores[subset])
        fast = time.perf_counter() - start
        start = time.perf_counter()
        reference = loop_with_sklearn(labels, scores[subset], decisions[subset])
        slow = time.perf_counter() - start
        difference = max(
            float(np.nanmax(np.abs(matrices[name] - reference[name]))) for name in MEASURES
        )
        print(
            f"S={args.loop_entries} x N={args.cases}: matrices {fast:.2f} s, "
            f"scikit-learn loop over pairs {slow:.1f} s, ratio {slow / fast:.0f}x, "
            f"largest difference {difference:.1e}"
        )


if __name__ == "__main__":
    main()
