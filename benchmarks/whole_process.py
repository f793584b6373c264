"""Whole-process scoring: ``python -m scoring evaluate`` on two CSVs against its peers.

The data are ``benchmarks/scoring.py``'s synthetic binary submission (prevalence about 30 %,
10 metrics, 3 attributes with 2, 4 and 6 levels and their 3 pairwise intersections: 57 groups)
written to a ground-truth CSV (case_id, label, sex, site, age_band) and a predictions CSV
(case_id, score rounded to 6 decimals, rows shuffled so that alignment by case id is real work).
Each measurement is a fresh process, started in turn (alternating, so that load on the shared
machine falls on every contender alike):

- ``cli``: ``python -m scoring evaluate --truth T --predictions P --metrics … --intersections …
  --bootstrap B --format json`` (imports, reading, validation, scoring, JSON output);
- ``fairlearn``: a script that reads the same CSVs with pandas, aligns the predictions to the
  truth by case id, and computes one ``fairlearn.metrics.MetricFrame`` per attribute and per
  pair over scikit-learn's metric functions (the same work: 10 metrics, 57 groups);
- ``floor``: the I/O floor, ``pyarrow.csv.read_csv`` of both files and one ``np.bincount`` pass
  (labels per attribute-combination cell), with ``import pyarrow.csv`` counted;
- ``engine``: ``scoring.evaluate`` alone on arrays already in memory (read and warmed first in
  the same process; the time of the call only), the in-memory engine the floor is added to.

Times are wall clock from the parent (process start to exit) and the child's CPU time (user +
system, from its own ``os.wait4`` usage, which load from other processes on a shared machine
inflates far less than wall time); peak memory is the child's ``ru_maxrss``. The engine's time
is that of the call alone, measured inside its process. Medians over the repeats; the CLI's
overall AUROC is checked against fairlearn's (1e-9).

    .venv/bin/python benchmarks/whole_process.py                 # all three sizes
    .venv/bin/python benchmarks/whole_process.py --sizes 300000 --repeats 3
    .venv/bin/python benchmarks/whole_process.py --profile 300000   # cProfile of the CLI
    .venv/bin/python benchmarks/whole_process.py --steps 10000000   # each step's time and RSS
    .venv/bin/python benchmarks/whole_process.py --sizes 10000000 --repeats 1 \
        --only cli,floor --baseline /work/main                     # before/after, one run

``--baseline DIR`` adds the contender ``baseline``: the same CLI command run from another
checkout (its ``scoring`` package, this interpreter), so that a change is measured against
the code before it in the same run. ``--only`` keeps some contenders. ``--steps N`` runs the
CLI's steps in one fresh process (imports, ``read_truth``, ``read_predictions``, ``evaluate``,
the JSON) and prints each one's wall and CPU time and the resident memory after it and at
its peak: where the time and the memory of a size go.

Sizes: 300,000 cases, bootstrap off (CLI, fairlearn, floor, engine); 1,000,000 cases with 200
resamples (CLI, floor, engine); 10,000,000 cases, bootstrap off (CLI, floor, engine). Data are
written once to ``--data`` (default /tmp/cheetah-whole-process) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
METRICS = ["accuracy", "balanced_accuracy", "sensitivity", "specificity", "ppv", "f1", "mcc",
           "auroc", "auprc", "brier"]
ATTRIBUTES = {"sex": 2, "site": 4, "age_band": 6}
INTERSECTIONS = [("sex", "site"), ("sex", "age_band"), ("site", "age_band")]
THRESHOLD = 0.5
# (cases, resamples, contenders) of each size the issue sets a target for.
PLAN = {
    300_000: (0, ("cli", "fairlearn", "floor", "engine")),
    1_000_000: (200, ("cli", "floor", "engine")),
    10_000_000: (0, ("cli", "floor", "engine")),
}


def write_data(n: int, folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """The truth and predictions CSVs of ``n`` cases (written once, then reused)."""
    import pyarrow as pa

    truth_path, predictions_path = folder / f"truth-{n}.csv", folder / f"predictions-{n}.csv"
    if truth_path.exists() and predictions_path.exists():
        return truth_path, predictions_path
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    columns = {"case_id": pa.array(np.char.add("c", np.arange(n).astype(str)))}
    attributes = {}
    for name, levels in ATTRIBUTES.items():
        shares = np.arange(1, levels + 1, dtype=float)[::-1]
        codes = rng.choice(levels, size=n, p=shares / shares.sum())
        attributes[name] = pa.DictionaryArray.from_arrays(
            codes.astype(np.int32), [f"{name}{i}" for i in range(levels)]
        ).cast(pa.string())
        risk += 0.2 * codes
    labels = (rng.random(n) < 1 / (1 + np.exp(1.5 - risk))).astype(np.int8)
    scores = np.round(1 / (1 + np.exp(1.5 - risk - rng.normal(scale=1.0, size=n))), 6)
    columns["label"] = pa.array(labels)
    columns.update(attributes)
    shuffled = rng.permutation(n)
    _write_csv(pa.table(columns), truth_path)
    _write_csv(pa.table({"case_id": columns["case_id"].take(shuffled),
                         "score": pa.array(scores[shuffled])}), predictions_path)
    return truth_path, predictions_path


def _write_csv(table, path: Path) -> None:
    """The table as pandas' ``to_csv(index=False)`` writes it: a bare header, no quotes."""
    import pyarrow.csv as pacsv

    with path.open("wb") as handle:
        handle.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, handle, write_options=pacsv.WriteOptions(
            include_header=False, quoting_style="none"))


def cli_command(truth: Path, predictions: Path, bootstrap: int) -> list[str]:
    return [sys.executable, "-m", "scoring", "evaluate", "--truth", str(truth),
            "--predictions", str(predictions), "--metrics", ",".join(METRICS),
            "--intersections", ",".join(f"{a}:{b}" for a, b in INTERSECTIONS),
            "--threshold", str(THRESHOLD), "--bootstrap", str(bootstrap), "--format", "json"]


def child_fairlearn(truth_path: str, predictions_path: str) -> dict:
    """fairlearn's MetricFrame on the two CSVs read with pandas: the peer of ``cli``."""
    import pandas as pd
    from fairlearn.metrics import MetricFrame
    from sklearn import metrics as sk

    truth = pd.read_csv(truth_path, dtype={"case_id": str})
    predictions = pd.read_csv(predictions_path, dtype={"case_id": str})
    scores = predictions.set_index("case_id")["score"].reindex(truth["case_id"]).to_numpy()
    labels = truth["label"].to_numpy()

    def decided(function, **options):
        return lambda y, s: function(y, s >= THRESHOLD, **options)

    functions = {
        "accuracy": decided(sk.accuracy_score),
        "balanced_accuracy": decided(sk.balanced_accuracy_score),
        "sensitivity": decided(sk.recall_score),
        "specificity": decided(sk.recall_score, pos_label=0),
        "ppv": decided(sk.precision_score, zero_division=np.nan),
        "f1": decided(sk.f1_score),
        "mcc": decided(sk.matthews_corrcoef),
        "auroc": sk.roc_auc_score,
        "auprc": sk.average_precision_score,
        "brier": sk.brier_score_loss,
    }
    auroc = None
    for columns in [[name] for name in ATTRIBUTES] + [list(pair) for pair in INTERSECTIONS]:
        frame = MetricFrame(metrics=functions, y_true=labels, y_pred=scores,
                            sensitive_features=truth[columns])
        auroc = float(frame.overall["auroc"])
    return {"auroc": auroc}


def child_floor(truth_path: str, predictions_path: str) -> dict:
    """The I/O floor: pyarrow reads both files; one bincount of labels per attribute cell."""
    import pyarrow.csv as pacsv

    truth = pacsv.read_csv(truth_path)
    predictions = pacsv.read_csv(predictions_path)
    cell = np.zeros(truth.num_rows, dtype=np.int64)
    for name in ATTRIBUTES:
        codes = truth[name].combine_chunks().dictionary_encode().indices.to_numpy()
        cell = cell * 8 + codes
    counts = np.bincount(cell, weights=truth["label"].to_numpy())
    return {"rows": predictions.num_rows, "positives": float(counts.sum())}


def child_engine(truth_path: str, predictions_path: str, bootstrap: int) -> dict:
    """``scoring.evaluate`` alone, on arrays in memory (read and warmed before the clock)."""
    sys.path.insert(0, str(ROOT))
    from scoring import evaluate, read_predictions, read_truth

    truth = read_truth(truth_path)
    predictions = read_predictions(predictions_path, truth)
    warm = np.zeros(truth.n, dtype=bool)
    warm[:1000] = True
    evaluate(truth, predictions, metrics=METRICS, intersections=INTERSECTIONS,
             bootstrap=min(bootstrap, 2), cases=warm)
    start, cpu = time.perf_counter(), time.process_time()
    result = evaluate(truth, predictions, threshold=THRESHOLD, metrics=METRICS,
                      intersections=INTERSECTIONS, bootstrap=bootstrap)
    return {"seconds": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
            "auroc": result.value("auroc")}


def run(command: list[str], cwd: Path = ROOT) -> dict:
    """Run ``command`` in a fresh process: wall seconds, its own peak RSS, its stdout."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        error = process.stderr.read().decode()
        process.stderr.close()
        if process.returncode:
            raise RuntimeError(f"{' '.join(command)} failed: {error}")
        out.seek(0)
        return {"seconds": seconds, "cpu_s": usage.ru_utime + usage.ru_stime,
                "peak_mib": usage.ru_maxrss / 1024, "stdout": out.read().decode()}


def measure(kind: str, truth: Path, predictions: Path, bootstrap: int,
            baseline: Path | None = None) -> dict:
    if kind in ("cli", "baseline"):
        folder = ROOT if kind == "cli" else baseline
        report = run(cli_command(truth, predictions, bootstrap), cwd=folder)
        report["auroc"] = json.loads(report.pop("stdout"))["overall"]["auroc"]["value"]
        return report
    report = run([sys.executable, __file__, "--child", kind, str(truth), str(predictions),
                  str(bootstrap)])
    inner = json.loads(report.pop("stdout").strip().splitlines()[-1])
    if kind == "engine":
        inner["process_seconds"] = report["seconds"]
        inner["process_cpu_s"] = report["cpu_s"]
        report["seconds"], report["cpu_s"] = inner.pop("seconds"), inner.pop("cpu_s")
    report.update(inner)
    return report


def benchmark(n: int, repeats: int, folder: Path, only: list[str] | None = None,
              baseline: Path | None = None) -> dict:
    bootstrap, kinds = PLAN[n]
    if baseline is not None:
        kinds = ("baseline", *kinds)
    if only:
        kinds = tuple(kind for kind in kinds if kind in only)
    truth, predictions = write_data(n, folder)
    for kind in ("cli", "baseline") if baseline is not None else ("cli",):
        measure(kind, truth, predictions, bootstrap, baseline)  # page and numba caches warm
    runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for repeat in range(repeats):
        for kind in kinds:
            report = measure(kind, truth, predictions, bootstrap, baseline)
            runs[kind].append(report)
            print(f"n={n:>10,} B={bootstrap:>3} {kind:<9} run {repeat + 1}: "
                  f"{report['seconds']:7.2f} s wall, {report['cpu_s']:7.2f} s CPU, "
                  f"peak {report['peak_mib']:,.0f} MiB, load {os.getloadavg()[0]:.1f}",
                  flush=True)
    summary = {kind: {"median_s": statistics.median(r["seconds"] for r in reports),
                      "median_cpu_s": statistics.median(r["cpu_s"] for r in reports),
                      "seconds": [round(r["seconds"], 3) for r in reports],
                      "peak_mib": max(r["peak_mib"] for r in reports)}
               for kind, reports in runs.items()}
    if "fairlearn" in runs and "cli" in runs:
        gap = abs(runs["fairlearn"][0]["auroc"] - runs["cli"][0]["auroc"])
        assert gap < 1e-9, f"the CLI and fairlearn disagree on AUROC by {gap}"
        for key in ("median_s", "median_cpu_s"):
            summary[f"vs_fairlearn_{key}"] = summary["fairlearn"][key] / summary["cli"][key]
    for key in ("median_s", "median_cpu_s"):
        if {"cli", "floor", "engine"} <= runs.keys():
            bound = summary["floor"][key] + summary["engine"][key]
            summary[f"vs_floor_plus_engine_{key}"] = summary["cli"][key] / bound
        if {"cli", "baseline"} <= runs.keys():
            summary[f"baseline_vs_cli_{key}"] = summary["baseline"][key] / summary["cli"][key]
    summary["cases"], summary["bootstrap"] = n, bootstrap
    return summary


def child_steps(truth_path: str, predictions_path: str, bootstrap: int) -> None:
    """The CLI's steps in this process, each with its wall and CPU time and resident memory
    (now and at the peak so far, from /proc/self/status)."""
    started, cpu = time.perf_counter(), time.process_time()

    def memory(field: str) -> float:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def step(name: str) -> None:
        nonlocal started, cpu
        now, now_cpu = time.perf_counter(), time.process_time()
        print(f"{name:<18} {now - started:6.2f} s wall {now_cpu - cpu:6.2f} s CPU  "
              f"RSS {memory('VmRSS'):6,.0f} MiB  peak {memory('VmHWM'):6,.0f} MiB", flush=True)
        started, cpu = now, now_cpu

    sys.path.insert(0, str(ROOT))
    from scoring.memory import keep_freed_memory

    keep_freed_memory()  # as python -m scoring does
    from scoring.evaluate import evaluate
    from scoring.io import read_predictions, read_truth

    step("imports")
    truth = read_truth(truth_path)
    step("read_truth")
    predictions = read_predictions(predictions_path, truth)
    step("read_predictions")
    result = evaluate(truth, predictions, threshold=THRESHOLD, metrics=METRICS,
                      intersections=INTERSECTIONS, bootstrap=bootstrap)
    step("evaluate")
    json.dumps(result.to_dict(), allow_nan=False)
    step("json")


def steps(n: int, folder: Path) -> None:
    """``child_steps`` in a fresh process (after a CLI run has warmed the caches)."""
    truth, predictions = write_data(n, folder)
    bootstrap = PLAN.get(n, (0,))[0]
    measure("cli", truth, predictions, bootstrap)
    print(f"n={n:,} B={bootstrap}, load average {os.getloadavg()[0]:.1f}", flush=True)
    subprocess.run([sys.executable, __file__, "--child", "steps", str(truth), str(predictions),
                    str(bootstrap)], check=True, cwd=ROOT)


def profile(n: int, folder: Path) -> None:
    """cProfile of the CLI (top 30 by cumulative time) and ``-X importtime``'s slowest."""
    truth, predictions = write_data(n, folder)
    command = cli_command(truth, predictions, PLAN.get(n, (0,))[0])
    stats = folder / f"cli-{n}.prof"
    subprocess.run([command[0], "-m", "cProfile", "-o", str(stats), *command[1:]],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    import pstats

    pstats.Stats(str(stats)).sort_stats("cumulative").print_stats(30)
    imports = subprocess.run([command[0], "-X", "importtime", *command[1:]], cwd=ROOT,
                             check=True, capture_output=True, text=True).stderr.splitlines()
    rows = [line.split("|") for line in imports if line.startswith("import time:")][1:]
    slowest = sorted(rows, key=lambda row: -int(row[1]))[:15]
    print("slowest imports (cumulative µs | module):")
    for row in slowest:
        print(f"{int(row[1]):>10,} | {row[2].rstrip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                        default=list(PLAN))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("/tmp/cheetah-whole-process"))
    parser.add_argument("--profile", type=int, help="profile the CLI at this size instead")
    parser.add_argument("--json", type=Path, help="write the summaries here")
    parser.add_argument("--steps", type=int, help="time each step of the CLI at this size")
    parser.add_argument("--only", type=lambda s: s.split(","),
                        help="contenders to run, e.g. cli,floor (default: the size's plan)")
    parser.add_argument("--baseline", type=Path,
                        help="another checkout whose CLI runs as the contender 'baseline'")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, truth, predictions, bootstrap = args.child
        if kind == "steps":
            child_steps(truth, predictions, int(bootstrap))
            return
        if kind == "fairlearn":
            report = child_fairlearn(truth, predictions)
        elif kind == "floor":
            report = child_floor(truth, predictions)
        else:
            report = child_engine(truth, predictions, int(bootstrap))
        print(json.dumps(report))
        return
    if args.profile:
        profile(args.profile, args.data)
        return
    if args.steps:
        steps(args.steps, args.data)
        return
    print(f"load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    summaries = [benchmark(n, args.repeats, args.data, args.only, args.baseline)
                 for n in args.sizes]
    for summary in summaries:
        print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=1))


if __name__ == "__main__":
    main()
