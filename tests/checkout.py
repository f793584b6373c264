"""A fresh checkout for tests that run the project as a newcomer does: ``make``, ``manage.py``.

The copy holds the files a clone of this working tree would (tracked and new files, nothing that
.gitignore lists: no .env, no var/, no compiled kernels) and shares this checkout's venv.
Commands run with none of the settings a developer's shell (or this test run) may hold.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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
