"""Summarise one load-test run's folder (written by ``run.sh``) as Markdown tables.

    .venv/bin/python benchmarks/load/report.py var/load/results-20261123T133000Z

Reads locust's ``locust_stats.csv`` (latency per page, in ms), ``submissions.json``
(``measure.py``) and ``cpu.json`` (``sample.py``). Plain Python, no Django, so it runs anywhere.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path


def pages_table(stats: Path) -> list[str]:
    lines = [
        "| page | requests | failures | p50 ms | p95 ms | p99 ms | max ms | req/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    with stats.open() as handle:
        for row in csv.DictReader(handle):
            label = "**all**" if row["Name"] == "Aggregated" else f"{row['Type']} {row['Name']}"
            lines.append(
                f"| {label} | {row['Request Count']} | {row['Failure Count']} | {row['50%']} | "
                f"{row['95%']} | {row['99%']} | {float(row['Max Response Time']):.0f} | "
                f"{float(row['Requests/s']):.1f} |"
            )
    return lines


def submissions_lines(summary: dict) -> list[str]:
    def stat(key: str) -> str:
        s = summary[key]
        return f"p50 {s['p50']} s, p95 {s['p95']} s, p99 {s['p99']} s, max {s['max']} s"

    lines = [
        f"* uploads accepted during the run: {summary['submissions']}; by status: "
        f"{summary['by_status']}; redelivered: {summary['redelivered']}; broker queue left: "
        f"{summary['broker_queue_left']} (waited {summary['waited_for_drain_s']} s after locust "
        "stopped for the queue to drain)",
        f"* scoring queue wait (created → started): {stat('queue_wait_s')}",
        f"* scoring (started → scored): {stat('scoring_s')}",
        f"* upload → scored: {stat('upload_to_scored_s')}",
        f"* first upload → last scored: {summary['first_upload_to_last_scored_s']} s",
        "",
        "| worker | task | count | busy s | mean s |",
        "|---|---|---|---|---|",
    ]
    for i, worker in enumerate(summary["workers"], 1):
        for task, entry in sorted(worker["tasks"].items()):
            lines.append(
                f"| worker{i} | {task} | {entry['count']} | {entry['busy_s']} | "
                f"{entry['mean_s']} |"
            )
        lines.append(f"| worker{i} | **all** | | {worker['busy_s']} | |")
    return lines


def cpu_lines(cpu: dict) -> list[str]:
    roles = [k for k in cpu if k not in ("samples",)]
    lines = ["| process | mean | peak |", "|---|---|---|"]
    for role in roles:
        unit = "" if role in ("load1", "pg_backends") else " cores"
        lines.append(
            f"| {role} | {cpu[role]['mean_cores']}{unit} | {cpu[role]['peak_cores']}{unit} |"
        )
    return lines


def main() -> None:
    folder = Path(sys.argv[1])
    out = ["### Pages (locust)", "", *pages_table(folder / "locust_stats.csv"), ""]
    submissions = folder / "submissions.json"
    if submissions.exists():
        out += ["### Submissions", "", *submissions_lines(json.loads(submissions.read_text())), ""]
    cpu = folder / "cpu.json"
    if cpu.exists():
        out += ["### CPU (cores) during the run", "", *cpu_lines(json.loads(cpu.read_text())), ""]
    text = "\n".join(out)
    (folder / "report.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
