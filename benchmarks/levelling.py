"""Benchmark ``python -m scoring fairness``: 200 entries × 100,000 cases against a reference.

Writes synthetic data into a temporary folder (binary labels, prevalence about 30 %, one
attribute ``sex`` with two groups and one ``site`` with four; every entry a noisy copy of the
labels, scores rounded to 4 decimals), then times

* the whole CLI process (``python -m scoring fairness --truth ... 200 files --reference ...
  --attribute sex --metrics sensitivity,specificity --floor sensitivity=0.5``): reading and
  validating 202 CSVs, scoring every entry per group, printing the JSON;
* in process, on the arrays already read: ``scoring.levelling.levelling_report`` against the
  named peer, fairlearn's ``MetricFrame`` with scikit-learn's ``recall_score`` and a specificity
  (``recall_score(pos_label=0)``) per group — the per-group values alone, without the comparison
  and the flags, which the peer does not compute.

Best of ``--repeat`` runs (default 3) after one warm-up; numba's kernels compiled before
(``python -m scoring warm``). Prints a table for docs/benchmarks.md ("Levelling down").

    .venv/bin/python benchmarks/levelling.py [--entries 200] [--cases 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timing import best  # noqa: E402  (benchmarks/ is on sys.path)

from scoring.io import read_predictions, read_truth  # noqa: E402
from scoring.levelling import levelling_report  # noqa: E402


def write_data(folder: Path, entries: int, cases: int, seed: int = 0) -> tuple[Path, list[Path]]:
    rng = np.random.default_rng(seed)
    ids = np.char.add("c", np.arange(cases).astype(str))
    labels = (rng.random(cases) < 0.3).astype(int)
    truth = pd.DataFrame({"case_id": ids, "label": labels,
                          "sex": rng.choice(["female", "male"], cases),
                          "site": rng.choice(["a", "b", "c", "d"], cases)})
    truth_path = folder / "truth.csv"
    truth.to_csv(truth_path, index=False)
    paths = []
    for e in range(entries + 1):
        noise = 0.3 + 0.4 * rng.random()
        scores = np.clip(labels * (1 - noise) + rng.random(cases) * noise, 0, 1).round(4)
        path = folder / ("reference.csv" if e == entries else f"entry{e:03d}.csv")
        pd.DataFrame({"case_id": ids, "score": scores}).to_csv(path, index=False)
        paths.append(path)
    return truth_path, paths



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from fairlearn.metrics import MetricFrame
    from sklearn.metrics import recall_score

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        truth_path, paths = write_data(folder, args.entries, args.cases)
        print(f"data written in {time.perf_counter() - start:.1f} s "
              f"({sum(p.stat().st_size for p in paths) / 1e6:.0f} MB)")
        entries, reference = paths[:-1], paths[-1]
        command = [sys.executable, "-m", "scoring", "fairness", "--truth", str(truth_path),
                   *map(str, entries), "--reference", str(reference), "--attribute", "sex",
                   "--metrics", "sensitivity,specificity", "--floor", "sensitivity=0.5",
                   "--format", "json"]

        def cli() -> None:
            done = subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
            assert done.stdout.startswith(b'{"attribute": "sex"')

        cli_time = best(cli, args.repeat)

        truth = read_truth(truth_path)
        read = [read_predictions(path, truth) for path in paths]
        names = [p.stem for p in entries]

        def ours() -> None:
            levelling_report(truth, read[:-1], names, reference=read[-1],
                             reference_name="reference", attribute="sex",
                             metrics=["sensitivity", "specificity"],
                             floors={"sensitivity": 0.5})

        labels = np.asarray(truth.labels)
        sex = np.asarray(truth.attributes["sex"])

        def peer() -> None:
            frames = []
            for predictions in read:
                decided = (predictions.scores >= 0.5).astype(int)
                frames.append(MetricFrame(
                    metrics={"sensitivity": recall_score,
                             "specificity": lambda t, p: recall_score(t, p, pos_label=0)},
                    y_true=labels, y_pred=decided, sensitive_features=sex).by_group)

        ours_time = best(ours, args.repeat)
        peer_time = best(peer, args.repeat)
    rows = [
        ("`python -m scoring fairness` (whole process: read 202 CSVs, score, print)", cli_time),
        ("`levelling_report` in process (arrays read)", ours_time),
        ("fairlearn `MetricFrame` + scikit-learn, per-group values only (peer)", peer_time),
    ]
    print(f"\n{args.entries} entries × {args.cases:,} cases, attribute sex, "
          "metrics sensitivity and specificity\n")
    print("| what | time (s) |\n|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
