"""``make demo`` in a fresh clone: the seeded submissions are on the leaderboard soon after the
first page answers, and the demo's processes log no warning that a newcomer can do nothing about.

Runs the demo as a newcomer does (its own SQLite, file-system broker and numba cache in the
clone, none of the test run's settings), so it takes about a minute: the kernels compile once,
in ``make install``, before the demo starts.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.checkout import (
    DEMO_TEAMS,
    checkout_copy,
    demo_teams_ranked,
    newcomer_env,
    page,
    stop_process_group,
)
from tests.e2e.conftest import _free_port, wait_for

pytestmark = pytest.mark.e2e

NOISE = ("No hostname was supplied", "superuser privileges", "AXES: BEGIN", "Traceback")


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
            lambda: page(base) is not None or process.poll() is not None,
            timeout=300,
            what="the demo's first page",
        )
        assert process.poll() is None, log_path.read_text()[-3000:]
        answered = time.monotonic()
        try:
            wait_for(
                lambda: demo_teams_ranked(base) >= DEMO_TEAMS, timeout=15, what="the leaderboard"
            )
        except AssertionError:
            pytest.fail(
                f"{demo_teams_ranked(base)} of {DEMO_TEAMS} teams on the leaderboard 15 s after "
                f"the first page:\n{log_path.read_text()[-3000:]}"
            )
        filled = time.monotonic() - answered
    finally:
        stop_process_group(process)
    log = log_path.read_text(errors="replace")
    assert [text for text in NOISE if text in log] == [], log[-3000:]
    served = log.split("Cheetah demo:", 1)[1]
    assert "[cache] data saved" not in served, "the worker compiled a scoring kernel"
    assert filled < 15
