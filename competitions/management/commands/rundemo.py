"""Run the whole demo in one terminal: web server, real Celery workers (scoring and field
queues) and beat.

Used by ``make demo``. Ctrl-C (or SIGTERM) stops them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from cheetah.celery import field_queue
from competitions.management.commands.seed_demo import demo_logins_text

# A Python warnings filter (-W) for Celery's SecurityWarning at the start of a worker that runs
# as root, which is how a demo in a container runs; the warning is meant for deployments, and
# the image runs its processes as its own user (Dockerfile).
ROOT_WARNING = "ignore:You're running the worker with superuser privileges"


class Command(BaseCommand):
    help = "Serve the demo with a Celery worker and beat; Ctrl-C stops everything."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, **options) -> None:
        python = sys.executable
        celery = [python, "-W", ROOT_WARNING, "-m", "celery", "-A", "cheetah"]
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        # One worker for scoring and one for the field's analyses (rank intervals, paired
        # tests, similarity), so that an upload never waits behind them (cheetah/celery.py).
        commands = {
            "worker": [*celery, "worker", "--loglevel=INFO", "--concurrency=1", "-Q", queue,
                       "-n", "scoring@%h"],
            "field-worker": [*celery, "worker", "--loglevel=INFO", "--concurrency=1", "-Q",
                             field_queue(queue), "-n", "field@%h"],
            "beat": [*celery, "beat", "--loglevel=INFO"],
            "web": [
                python,
                "manage.py",
                "runserver",
                f"{options['host']}:{options['port']}",
                "--noreload",
            ],
        }
        # The workers and beat in sessions of their own: Ctrl-C (or a signal to the whole
        # group) reaches this command, which stops each of them with one SIGTERM, so their pool
        # processes are shut down by their worker and never killed mid-way with a traceback.
        processes = {
            name: subprocess.Popen(cmd, start_new_session=name != "web")
            for name, cmd in commands.items()
        }
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"\nCheetah demo: {url}"))
        self.stdout.write(
            f"Admin: {url}admin/\n{demo_logins_text()}\nCtrl-C stops the server, "
            "the workers and beat.\n"
        )

        def stop(*_args) -> None:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for process in processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()

        signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
        try:
            while all(p.poll() is None for p in processes.values()):
                time.sleep(0.5)
            dead = [n for n, p in processes.items() if p.poll() is not None]
            self.stderr.write(f"The {', '.join(dead)} process stopped; stopping the others.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            stop()
