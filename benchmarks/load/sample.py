"""Sample, every few seconds, how much CPU each part of the load test uses, to show what limits it.

Roles are process trees given by their root pid (``--role web=1234 --role worker1=1240 …``);
``postgres`` is every PostgreSQL backend serving ``--database`` (found by its process title),
``other`` is everything else on the machine (other engineers' jobs, the system). CPU is in
cores (1.0 = one core busy). Runs until SIGTERM/SIGINT, then writes the samples as CSV and the
per-role mean and peak as JSON:

    .venv/bin/python benchmarks/load/sample.py --out var/load/results/cpu --database wt_load \
        --role web=$WEB_PID --role worker1=$W1_PID --role locust=$LOCUST_PID
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import time
from pathlib import Path

import psutil


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
        return times.user + times.system
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0


def role_processes(roles: dict[str, int], database: str) -> dict[str, list[psutil.Process]]:
    found = {name: tree(pid) for name, pid in roles.items()}
    found["postgres"] = []
    for process in psutil.process_iter(["cmdline"]):
        title = " ".join(process.info["cmdline"] or [])
        if title.startswith("postgres:") and f" {database} " in f"{title} ":
            found["postgres"].append(process)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", action="append", default=[], help="name=pid")
    parser.add_argument("--database", default="wt_load")
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--out", type=Path, required=True, help="path prefix for .csv/.json")
    args = parser.parse_args()
    roles = {name: int(pid) for name, pid in (r.split("=", 1) for r in args.role)}
    names = [*roles, "postgres", "other"]

    stop = False

    def on_signal(*_args) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    samples = []
    # Per-process CPU seconds at the previous sample, so processes that come and go (gunicorn
    # and pool children, PostgreSQL backends) are counted by what they used in between.
    previous = {
        process.pid: cpu_seconds(process)
        for processes in role_processes(roles, args.database).values()
        for process in processes
    }
    total_before = sum(psutil.cpu_times()[:3])  # user, nice, system
    before = time.monotonic()
    while not stop:
        time.sleep(args.interval)
        now = time.monotonic()
        elapsed = now - before
        seen: dict[int, float] = {}
        row = {"t": round(time.time(), 1), "load1": os.getloadavg()[0]}
        found = role_processes(roles, args.database)
        row["pg_backends"] = len(found["postgres"])
        for name, processes in found.items():
            used = 0.0
            for process in processes:
                spent = cpu_seconds(process)
                used += spent - previous.get(process.pid, 0.0)  # new since: all of its time
                seen[process.pid] = spent
            row[name] = round(max(used, 0.0) / elapsed, 2)
        total_now = sum(psutil.cpu_times()[:3])
        busy = (total_now - total_before) / elapsed
        row["other"] = round(max(busy - sum(row[n] for n in names[:-1]), 0.0), 2)
        row["machine"] = round(busy, 2)
        samples.append(row)
        previous, total_before, before = seen, total_now, now

    prefix = args.out
    with open(f"{prefix}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["t", "load1", "pg_backends", *names, "machine"])
        writer.writeheader()
        writer.writerows(samples)
    summary = {
        name: {"mean_cores": round(sum(s[name] for s in samples) / max(1, len(samples)), 2),
               "peak_cores": max((s[name] for s in samples), default=0.0)}
        for name in [*names, "machine", "load1", "pg_backends"]
    }
    summary["samples"] = len(samples)
    Path(f"{prefix}.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
