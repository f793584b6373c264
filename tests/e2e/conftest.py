"""A real Celery worker process on the configured broker and the test database, and a headless
Chromium page (Debian's, through Playwright) for the browser tests.

The worker is started once per session, after pytest-django has created the test database, with
DATABASE_URL pointing at that database, and stopped before it is dropped. Tests that use it need
``transaction=True`` so their writes are committed and visible to the worker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections
from playwright.sync_api import sync_playwright

# Playwright's sync API runs an event loop in this thread; the Django calls the tests make
# between browser steps are plain synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]


def _test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_session(django_db_setup, django_db_blocker, tmp_path_factory):
    """Start ``celery -A cheetah worker`` on a queue of its own; yield its log path."""
    from cheetah.celery import app

    queue = f"test-{uuid.uuid4().hex[:10]}"
    app.conf.task_default_queue = queue
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "CELERY_QUEUE": queue,
        "DEBUG": "1",
        "CHEETAH_VAR_DIR": str(settings.VAR_DIR),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "cheetah", "worker", "--pool=solo",
        "--loglevel=INFO", "-Q", queue, "--without-gossip", "--without-mingle",
        "--without-heartbeat",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while "ready." not in log_path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"The Celery worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.25)
    yield log_path
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    connection.close()


_STARTED = ("] received",)
_ENDED = ("] succeeded in", "] raised unexpected", "] retry:", "] Task handler raised error")


def _worker_idle(log_path: Path) -> bool:
    text = log_path.read_text(errors="replace")
    started = sum(text.count(mark) for mark in _STARTED)
    ended = sum(text.count(mark) for mark in _ENDED)
    return started == ended


@pytest.fixture
def celery_worker_process(celery_worker_session, transactional_db):
    """The session's worker, for one test; afterwards, wait until it has finished every task the
    test set off (a scored submission enqueues re-ranking and similarity), so that the test
    database is not flushed under a task still writing to it."""
    yield celery_worker_session
    quiet_since = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if _worker_idle(celery_worker_session):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 2.5:  # nothing new arrived from the broker
                return
        else:
            quiet_since = None
        time.sleep(0.25)
    pytest.fail("The worker was still busy 120 s after the test ended")


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}")


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page():
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not shutil.which(path):
        pytest.fail(f"Chromium not found at {path}: apt-get install chromium, or set CHROMIUM_PATH")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(30_000)
        yield page
        browser.close()
        # Queries the test made while Playwright's event loop ran live in that loop's context,
        # which pytest-django's teardown does not see: close them here.
        connections.close_all()
