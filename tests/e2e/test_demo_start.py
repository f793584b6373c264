"""``make demo`` in a fresh clone: the seeded submissions are on the leaderboard soon after the
first page answers, and the demo's processes log no warning that a newcomer can do nothing about.

Runs the demo as a newcomer does (its own SQLite, file-system broker and numba cache in the
clone, none of the test run's settings), so it takes about a minute: the kernels compile once,
in ``make install``, before the demo starts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.checkout import checkout_copy, newcomer_env
from tests.e2e.conftest import _free_port, wait_for

pytestmark = pytest.mark.e2e

# Light Chain Gang (alice and bob), carol and dave: the teams of seed_demo's four submissions.
TEAMS = 3
NOISE = ("No hostname was supplied", "superuser privileges", "AXES: BEGIN", "Traceback")


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _scored_teams(url: str) -> int:
    body = _get(url)
    entries = json.loads(body)["entries"] if body else []
    return sum(1 for entry in entries if entry["score"] is not None)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to make and everything it started (rundemo stops its three processes)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_demo_ranks_its_submissions_within_15_s_of_its_first_page(tmp_path: Path):
    clone = checkout_copy(tmp_path / "cheetah")
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    log_path = tmp_path / "demo.log"
    with open(log_path, "wb") as log:
        # NUMBA_DEBUG_CACHE: numba says "[cache] data saved" for each signature it compiles.
        process = subprocess.Popen(
            ["make", "--no-print-directory", "demo", f"PORT={port}"],
            cwd=clone,
            env=newcomer_env(NUMBA_DEBUG_CACHE="1"),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: _get(base) is not None or process.poll() is not None,
            timeout=300,
            what="the demo's first page",
        )
        assert process.poll() is None, log_path.read_text()[-3000:]
        page = time.monotonic()
        board = f"{base}c/flchain-mortality/phases/test/leaderboard.json"
        try:
            wait_for(lambda: _scored_teams(board) >= TEAMS, timeout=15, what="the leaderboard")
        except AssertionError:
            pytest.fail(
                f"{_scored_teams(board)} of {TEAMS} teams on the leaderboard 15 s after "
                f"the first page:\n{log_path.read_text()[-3000:]}"
            )
        filled = time.monotonic() - page
    finally:
        _stop(process)
    log = log_path.read_text(errors="replace")
    assert [text for text in NOISE if text in log] == [], log[-3000:]
    served = log.split("Cheetah demo:", 1)[1]
    assert "[cache] data saved" not in served, "the worker compiled a scoring kernel"
    assert filled < 15
