"""A fresh checkout for tests that run the project as a newcomer does: ``make``, ``manage.py``,
``make demo`` (also used by ``benchmarks/demo_start.py``).

The copy holds the files a clone of this working tree would (tracked and new files, nothing that
.gitignore lists: no .env, no var/, no compiled kernels) and shares this checkout's venv.
Commands run with none of the settings a developer's shell (or this test run) may hold.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Settings the test run itself sets (make test, CI, pytest-django); a newcomer has none.
SETTINGS = (
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "CHEETAH_VAR_DIR",
    "NUMBA_CACHE_DIR",
    "DJANGO_SETTINGS_MODULE",
    "CONN_MAX_AGE",
    "CELERY_QUEUE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def checkout_copy(dest: Path) -> Path:
    """Copy the checkout's files to ``dest``, as ``git clone`` plus the uncommitted edits."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    # The shared venv, taken as installed by make (its stamp is newer than requirements.txt).
    venv = Path(sys.prefix)
    (dest / ".venv").symlink_to(venv)
    installed = (venv / ".installed").stat().st_mtime if (venv / ".installed").exists() else 0
    os.utime(dest / "requirements.txt", (installed - 1, installed - 1))
    return dest


def newcomer_env(**extra: str) -> dict[str, str]:
    """This process's environment without any Cheetah setting, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    env.update(extra)
    return env


def run(
    args: list[str], *, cwd: Path, timeout: float = 180, **extra: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=cwd, env=newcomer_env(**extra), capture_output=True, text=True, timeout=timeout
    )


# Light Chain Gang (alice and bob), carol and dave: the teams of seed_demo's four submissions.
DEMO_TEAMS = 3
DEMO_LEADERBOARD = "c/flchain-mortality/phases/test/leaderboard.json"


def page(url: str) -> bytes | None:
    """The body of ``url``, or None while the server does not answer with it."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def demo_teams_ranked(base_url: str) -> int:
    """How many teams the demo leaderboard (JSON) shows with a score."""
    body = page(base_url + DEMO_LEADERBOARD)
    entries = json.loads(body)["entries"] if body else []
    return sum(1 for entry in entries if entry["score"] is not None)


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM to a process started with ``start_new_session`` and all it started (``make
    demo``: rundemo stops its web server, worker and beat), SIGKILL after 30 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
