"""A real Celery worker process on the configured broker and the test database, and a headless
Chromium page (Debian's, through Playwright) for the browser tests.

The worker is started once per session, after pytest-django has created the test database, with
DATABASE_URL pointing at that database, and stopped before it is dropped. Tests that use it need
``transaction=True`` so their writes are committed and visible to the worker.
"""

from __future__ import annotations

import email
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection, connections
from playwright.sync_api import sync_playwright

from tests.chromium import CHROMIUM_ARGS, chromium_path

# Playwright's sync API runs an event loop in this thread; the Django calls the tests make
# between browser steps are plain synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]


def worker_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _process_env(queue: str, env: dict[str, str] | None) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "CELERY_QUEUE": queue,
        "DEBUG": "1",
        "CHEETAH_VAR_DIR": str(settings.VAR_DIR),
        **(env or {}),
    }


def worker_start(
    *, queue: str, log_path: Path, env: dict[str, str] | None = None, pool: str = "solo",
    queues: tuple[str, ...] | None = None,
) -> subprocess.Popen:
    """Start ``celery -A cheetah worker`` on ``queue`` and the test database; return once it is
    ready. ``env`` overrides settings for this worker only (a broker, a sweeper limit, …).
    It reads the scoring queue and its field queue unless ``queues`` names others."""
    environment = _process_env(queue, env)
    command = [
        sys.executable, "-m", "celery", "-A", "cheetah", "worker", f"--pool={pool}",
        "--concurrency=1", "--loglevel=INFO", "-Q", ",".join(queues or (queue, queue + ".field")),
        "--without-gossip",
        "--without-mingle", "--without-heartbeat",
    ]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    ready_before = log_path.read_text(errors="replace").count("ready.")
    deadline = time.monotonic() + 60
    while log_path.read_text(errors="replace").count("ready.") <= ready_before:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"The Celery worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.25)
    return process


def worker_stop(process: subprocess.Popen) -> None:
    """A warm shutdown: the task under way finishes first."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def celery_worker_session(django_db_setup, django_db_blocker, tmp_path_factory):
    """Start ``celery -A cheetah worker`` on a queue of its own; yield its log path."""
    from cheetah.celery import app

    queue = f"test-{uuid.uuid4().hex[:10]}"
    app.conf.task_default_queue = queue
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    process = worker_start(queue=queue, log_path=log_path)
    yield log_path
    worker_stop(process)
    connection.close()


_STARTED = ("] received",)
_ENDED = ("] succeeded in", "] raised unexpected", "] retry:", "Task handler raised error:")


def _worker_idle(log_path: Path) -> bool:
    text = log_path.read_text(errors="replace")
    started = sum(text.count(mark) for mark in _STARTED)
    ended = sum(text.count(mark) for mark in _ENDED)
    return started == ended


def worker_wait_idle(log_path: Path, *, timeout: float = 120) -> None:
    """Wait until the worker has finished every task it received and nothing new arrived for a
    moment (a scored submission enqueues re-ranking and similarity)."""
    quiet_since = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _worker_idle(log_path):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 2.5:  # nothing new arrived from the broker
                return
        else:
            quiet_since = None
        time.sleep(0.25)
    pytest.fail(f"The worker was still busy {timeout:.0f} s after the test ended")


@pytest.fixture
def celery_worker_process(celery_worker_session, transactional_db):
    """The session's worker, for one test; afterwards, wait until it has finished every task the
    test set off, so that the test database is not flushed under a task still writing to it."""
    yield celery_worker_session
    worker_wait_idle(celery_worker_session)


@dataclass
class Worker:
    """A worker process a test started for itself, with its own log."""

    process: subprocess.Popen
    log_path: Path

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, as when a machine dies."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


@dataclass
class PrivateWorkers:
    """Start workers that share one private queue (and settings given per worker)."""

    queue: str
    folder: Path
    started: list[Worker] = field(default_factory=list)
    beats: list[subprocess.Popen] = field(default_factory=list)

    def start(self, pool: str = "solo", queues: tuple[str, ...] | None = None,
              **env: str) -> Worker:
        log_path = self.folder / f"worker-{len(self.started)}.log"
        log_path.touch()
        process = worker_start(queue=self.queue, log_path=log_path, env=env, pool=pool,
                               queues=queues)
        worker = Worker(process, log_path)
        self.started.append(worker)
        return worker

    def beat(self, **env: str) -> subprocess.Popen:
        """``celery beat`` sending the periodic tasks (the sweeper) to this queue."""
        command = [
            sys.executable, "-m", "celery", "-A", "cheetah", "beat", "--loglevel=INFO",
            "-s", str(self.folder / f"beat-{len(self.beats)}-schedule"),
        ]
        with open(self.folder / f"beat-{len(self.beats)}.log", "ab") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env=_process_env(self.queue, env), stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.beats.append(process)
        return process


@pytest.fixture
def private_workers(transactional_db, tmp_path) -> Iterator[PrivateWorkers]:
    """Workers of this test alone (to kill, or to run with other settings); what the test
    enqueues goes to their queue. Afterwards the live ones finish their tasks and stop."""
    from cheetah.celery import app

    queue = f"test-{uuid.uuid4().hex[:10]}"
    previous, app.conf.task_default_queue = app.conf.task_default_queue, queue
    workers = PrivateWorkers(queue=queue, folder=tmp_path)
    yield workers
    app.conf.task_default_queue = previous
    for beat in workers.beats:
        worker_stop(beat)
    for worker in workers.started:
        if worker.process.poll() is None:
            worker_wait_idle(worker.log_path)
            worker_stop(worker.process)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PrivateRedis:
    """A redis-server of the test's own, without persistence, to stop and restart at will (the
    shared Redis is never touched). Restarting it loses every message it held."""

    folder: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            shutil.which("redis-server") or "redis-server", "--port", str(self.port),
            "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.folder),
        ]
        with open(self.folder / "redis.log", "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        wait_for(lambda: self._answers(client), timeout=20, interval=0.05, what="redis-server")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def queued(self, queue: str) -> int:
        """How many messages wait in a Celery queue on this server."""
        return redis.Redis(port=self.port).llen(queue)

    @staticmethod
    def _answers(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(folder=tmp_path)
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    server.start()
    yield server
    server.stop()


@contextmanager
def broker(url: str) -> Iterator[None]:
    """Send this process's tasks to ``url`` instead of the configured broker. Celery reads
    CELERY_BROKER_URL from the environment before its configuration, and its pools hold
    connections to the old broker, so both are replaced."""
    from cheetah.celery import app

    def reset(to: str | None) -> None:
        if to is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = to
        app.conf.broker_url = to or settings.CELERY_BROKER_URL
        app._pool = None
        app.amqp._producer_pool = None

    previous = os.environ.get("CELERY_BROKER_URL")
    reset(url)
    try:
        yield
    finally:
        reset(previous)


def finished(pk: int):
    """The submission once the worker is done with it (scored or failed), else None."""
    from competitions.models import Submission

    submission = Submission.objects.get(pk=pk)
    return submission if submission.status in ("scored", "failed") else None


def wait_until_scoring(pk: int) -> None:
    """Wait, polling often, until a worker has claimed the submission (to hit it mid-scoring)."""
    from competitions.models import Submission

    wait_for(
        lambda: Submission.objects.get(pk=pk).status == "scoring",
        interval=0.05,
        what="the worker to start scoring",
    )


def event_kinds(submission) -> list[str]:
    """The submission's log, oldest first: received, queued, started, …"""
    return list(submission.events.order_by("at", "pk").values_list("kind", flat=True))


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}")


# An init script (which the page's policy does not govern) that records every violation of it.
COLLECT_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture
def browser_page():
    path = chromium_path()
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


# --- Mail: a real SMTP server (aiosmtpd) and the settings that point a worker at it ----------

REFUSED = "nobody@refused.example"  # the one address the test server refuses


@dataclass
class Inbox:
    """An SMTP handler that keeps what it is sent and refuses ``REFUSED``."""

    messages: list[email.message.EmailMessage] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == REFUSED:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    """(inbox, port) of an SMTP server this test alone uses."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


def smtp_env(port: int) -> dict[str, str]:
    """A worker's settings for the test's SMTP server and the links its e-mails carry."""
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "SITE_URL": "https://cheetah.example",
    }
