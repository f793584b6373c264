"""Benchmark several raters: what scoring against each rater adds to a submission's scoring on
the worker, and the snapshot's human ceiling and rank intervals for a large field.

Synthetic binary data (prevalence about 30 %), R raters each flipping a seeded share of the
labels, one attribute. Prints a table for docs/benchmarks.md ("Several raters"); times are the
best of 3 runs after one warm-up run (numba's kernels compiled and cached before).

    .venv/bin/python benchmarks/raters.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import best  # noqa: E402  (benchmarks/ is on sys.path)

from scoring.evaluate import evaluate  # noqa: E402
from scoring.io import Predictions, Truth  # noqa: E402
from scoring.raters import human_ceiling, rank_intervals, score_references  # noqa: E402
from scoring.registry import metrics_for  # noqa: E402

METRICS = [m.id for m in metrics_for("binary") if m.scorer is None]


def data(n: int, raters: int, seed: int = 0) -> tuple[Truth, np.random.Generator]:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.3).astype(np.int8)
    columns = {}
    for r in range(raters):
        flip = rng.random(n) < 0.05 + 0.05 * r
        columns[f"label_r{r}"] = np.where(flip, 1 - labels, labels).astype(np.int8)
    truth = Truth(case_ids=np.arange(n).astype(str).astype(object), labels=labels,
                  attributes={"site": rng.choice(np.array(["a", "b", "c", "d"], dtype=object),
                                                 n)},
                  split=None, task="binary", raters=columns)
    return truth, rng


def entry(truth: Truth, rng: np.random.Generator) -> Predictions:
    score = np.clip(truth.labels * 0.4 + rng.random(truth.n) * 0.6, 0, 1)
    return Predictions(task="binary", scores=score)



def main() -> None:
    rows = []
    for n, raters in ((10_000, 3), (100_000, 3), (100_000, 10)):
        truth, rng = data(n, raters)
        p = entry(truth, rng)
        base = best(lambda t=truth, p=p: evaluate(t, p, metrics=METRICS, bootstrap=200, seed=0,
                                                  min_group=30))
        extra = best(lambda t=truth, p=p: score_references(t, p, metrics=METRICS))
        ceiling = best(lambda t=truth: human_ceiling(t, metrics=METRICS))
        rows.append(f"| {n:,} cases, {raters} raters, {len(METRICS)} metrics | {base:.2f} s | "
                    f"{extra:.2f} s | {ceiling:.2f} s |")
    print("| what | evaluate (bootstrap 200) | + every reference | human ceiling |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    truth, rng = data(10_000, 5)
    entries = [entry(truth, rng) for _ in range(200)]
    scores = {str(i): score_references(truth, e, metrics=["auroc"])
              for i, e in enumerate(entries)}
    field = best(lambda: [score_references(truth, e, metrics=["auroc"]) for e in entries], 1)
    ranks = best(lambda: rank_intervals(scores, metric="auroc", higher_is_better=True))
    print(f"\n200 entries × 10,000 cases × 5 raters, auroc: scoring every entry against every "
          f"reference {field:.2f} s; rank intervals {ranks * 1000:.1f} ms")


if __name__ == "__main__":
    main()
