"""Time ``make demo`` from a fresh clone: the command, the first page, the filled leaderboard.

Clones this checkout (``--rev``, default HEAD) into a temporary folder, runs ``make demo`` there
with none of the settings a developer might have exported, and polls, every 0.25 s, the home
page and the demo leaderboard's JSON until all three demo teams are on it. It then reads the
worker's "Task … succeeded in Ns" lines, counts the log lines the Newcomers issue calls noise,
and stops the demo (SIGTERM to its process group, then SIGKILL).

    .venv/bin/python benchmarks/demo_start.py                 # a new venv: pip install from PyPI
    .venv/bin/python benchmarks/demo_start.py --venv .venv    # reuse this venv (symlinked)
    .venv/bin/python benchmarks/demo_start.py --venv .venv --rev 2ea522e   # an older commit

Prints the figures; writes nothing in the checkout. Numbers are in docs/benchmarks.md, "make demo
from a fresh clone".
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.checkout import (  # noqa: E402 - after the path
    DEMO_TEAMS,
    demo_teams_ranked,
    newcomer_env,
    page,
    stop_process_group,
)

NOISE = {
    "No hostname was supplied": "kombu, per connection",
    "superuser privileges": "Celery, worker as root",
    "AXES: BEGIN": "django-axes, per process",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(clone: Path, venv: Path | None, rev: str, timeout: float) -> dict:
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", rev], cwd=clone, check=True)
    if venv is not None:
        (clone / ".venv").symlink_to(venv.resolve())
        # The clone's requirements.txt is newer than the venv's install stamp: make it older,
        # so that make takes the venv as installed.
        installed = (venv / ".installed").stat().st_mtime
        os.utime(clone / "requirements.txt", (installed - 1, installed - 1))
    port = free_port()
    log_path = clone / "demo.log"
    with open(log_path, "wb") as log:
        start = time.monotonic()
        process = subprocess.Popen(
            ["make", "demo", f"PORT={port}"],
            cwd=clone,
            env=newcomer_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}/"
    first_page = board = None
    try:
        while time.monotonic() - start < timeout and process.poll() is None:
            now = time.monotonic() - start
            if first_page is None and page(base) is not None:
                first_page = now
            if first_page is not None and demo_teams_ranked(base) >= DEMO_TEAMS:
                board = now
                break
            time.sleep(0.25)
        time.sleep(2)  # let the last log lines land
    finally:
        stop_process_group(process)
    log = log_path.read_text(errors="replace")
    if board is None:
        print(log[-3000:])
    tasks: dict[str, list[float]] = {}
    for name, seconds in re.findall(r"Task [\w.]+\.(\w+)\[[^\]]+\] succeeded in ([\d.]+)s", log):
        tasks.setdefault(name, []).append(round(float(seconds), 2))
    warm = re.search(r"Scoring kernels .*", log)
    return {
        "rev": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=clone,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip(),
        "first_page_s": None if first_page is None else round(first_page, 1),
        "leaderboard_filled_s": None if board is None else round(board, 1),
        "filled_after_page_s": (
            None if None in (first_page, board) else round(board - first_page, 1)
        ),
        "warm": warm.group(0) if warm else None,
        "tasks_s": tasks,
        "noise": {text: log.count(text) for text in NOISE},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, help="symlink this venv instead of installing one")
    parser.add_argument("--rev", default="HEAD", help="the commit to clone (default HEAD)")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cheetah-demo-") as folder:
        result = run(Path(folder) / "cheetah", args.venv, args.rev, args.timeout)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
