"""Take the README's screenshots from the running demo: the leaderboard, the results page and a
scored submission's page, as the demo participant alice sees them at 1280 × 800.

By default it starts a demo of its own — ``migrate``, ``seed_demo`` and ``rundemo`` in a
temporary folder (SQLite, the embedded broker) on a free port, never the checkout's ``var/`` —
waits until the worker has ranked every seeded team, takes the pictures and stops that demo
(rundemo, then whatever of its process group is left). With ``--url`` it photographs a demo
that is already running (``make demo``) and starts nothing.

    .venv/bin/python docs/screenshots.py               # or: make screenshots
    .venv/bin/python docs/screenshots.py --url http://127.0.0.1:8000

Writes docs/img/leaderboard.png, results.png and submission.png; prints the time of each step.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.checkout import (  # noqa: E402 - after the path
    DEMO_LEADERBOARD,
    DEMO_TEAMS,
    newcomer_env,
    page,
)
from tests.chromium import CHROMIUM_ARGS, chromium_path  # noqa: E402

# seed_demo's participant and password (tests/test_screenshots.py ties them to seed_demo).
USERNAME = "alice"
PASSWORD = "cheetah-demo"
CHALLENGE = "c/flchain-mortality/"
PHASE = CHALLENGE + "phases/test/"
VIEWPORT = {"width": 1280, "height": 800}
# Taller pages are cut here: the top of the results page (rank intervals, which differences
# are real, the podium) tells the story, and the files stay small.
MAX_HEIGHT = 1600
OUT = ROOT / "docs" / "img"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_env(folder: Path) -> dict[str, str]:
    """Settings for a demo in ``folder`` alone: each one set here, so that neither the shell nor
    the checkout's .env (which fills in only what is unset) points it at another database,
    broker, cache or mail server. The numba cache is kept, so compiled kernels are reused."""
    kept = {key: os.environ[key] for key in ("NUMBA_CACHE_DIR",) if key in os.environ}
    return newcomer_env(
        DEBUG="1",
        CHEETAH_VAR_DIR=str(folder),
        DATABASE_URL=f"sqlite:///{folder / 'cheetah.sqlite3'}",
        CELERY_BROKER_URL="filesystem://localhost/",
        REDIS_URL="",
        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
        **kept,
    )


@contextmanager
def own_demo(folder: Path, timeout: float) -> Iterator[str]:
    """Seed and start a demo in ``folder``; yield its base URL once the worker has ranked every
    team; stop the server, the worker and beat afterwards, whatever happened."""
    env = demo_env(folder)
    log_path = folder / "demo.log"
    manage = [sys.executable, "manage.py"]
    with open(log_path, "wb") as log:
        for command in (["migrate", "--noinput"], ["seed_demo"]):
            done = subprocess.run(
                [*manage, *command], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            if done.returncode:
                sys.exit(f"{' '.join(command)} failed:\n" + tail(log_path))
        progress("demo seeded")
        port = free_port()
        process = subprocess.Popen(
            [*manage, "rundemo", "--port", str(port)], cwd=ROOT, env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}/"

    def alive() -> None:
        if process.poll() is not None:
            sys.exit("The demo stopped:\n" + tail(log_path))

    try:
        wait(lambda: page(base) is not None, what="the demo's home page", timeout=timeout,
             check=alive)
        progress("demo answering")
        wait(lambda: every_team_ranked(base), what="every team on the leaderboard",
             timeout=timeout, check=alive)
        yield base
    finally:
        stop_demo(process)
        progress("demo stopped")


def stop_demo(process: subprocess.Popen) -> None:
    """SIGTERM to rundemo alone, which stops its server, worker and beat (5–8 s; a SIGTERM to
    the whole group also hits the worker's pool processes, and its shutdown then takes 15 s),
    then SIGKILL to whatever of the group is left."""
    process.terminate()
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def every_team_ranked(base: str) -> bool:
    """True once the leaderboard's JSON ranks every seeded team, with its rank interval (the
    bootstrap the results page shows)."""
    body = page(base + DEMO_LEADERBOARD)
    entries = json.loads(body)["entries"] if body else []
    return len(entries) >= DEMO_TEAMS and all(
        entry["rank"] is not None and entry["score"] is not None and entry["rank_interval"]
        for entry in entries
    )


def tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-3000:]


def wait(predicate, *, what: str, timeout: float, check=lambda: None) -> None:
    """Poll ``predicate`` until it holds; ``check`` may stop the script first (a dead demo)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        check()
        if time.monotonic() > deadline:
            sys.exit(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)


_START = time.monotonic()


def progress(step: str) -> None:
    print(f"{time.monotonic() - _START:5.1f} s  {step}", flush=True)


def shoot(base: str, out: Path, max_height: int) -> list[Path]:
    """Log in as the participant and save the three pages; return the files."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport=VIEWPORT)
        tab.set_default_timeout(30_000)
        tab.goto(base + "accounts/login/")
        tab.get_by_label("Username").fill(USERNAME)
        tab.get_by_label("Password").fill(PASSWORD)
        tab.get_by_role("button", name="Log in").click()
        tab.wait_for_url(lambda url: "/accounts/login/" not in url)

        # The team's submission that counts on the leaderboard: scored, and its values shown.
        tab.goto(base + CHALLENGE + "submissions/")
        counted = tab.locator("tbody tr", has=tab.locator(".status-scored")).filter(
            has_text="counts on the leaderboard"
        )
        submission = counted.first.locator("th a").get_attribute("href")

        pages = {
            "leaderboard": PHASE + "leaderboard/",
            "results": PHASE + "results/",
            "submission": submission.lstrip("/"),
        }
        for name, path in pages.items():
            tab.goto(base + path)
            tab.wait_for_load_state("networkidle")
            height = min(tab.evaluate("document.documentElement.scrollHeight"), max_height)
            target = out / f"{name}.png"
            tab.screenshot(
                path=target, full_page=True, animations="disabled",
                clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height},
            )
            saved.append(target)
        browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Take the README's screenshots (docs/img/*.png) from the demo."
    )
    parser.add_argument(
        "--url", help="a running demo to photograph (e.g. http://127.0.0.1:8000); by default "
        "the script starts one of its own in a temporary folder and stops it afterwards",
    )
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs (docs/img)")
    parser.add_argument("--max-height", type=int, default=MAX_HEIGHT,
                        help=f"cut taller pages at this many pixels (default {MAX_HEIGHT})")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds to wait for the scored leaderboard (default 300)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cheetah-shots-") as folder:
        if args.url is None:
            demo = own_demo(Path(folder), args.timeout)
        else:
            url = args.url.rstrip("/") + "/"
            wait(lambda: every_team_ranked(url), what="every team on the leaderboard",
                 timeout=args.timeout)
            demo = nullcontext(url)
        with demo as base:
            progress("leaderboard ranked")
            saved = shoot(base, args.out, args.max_height)
            progress("screenshots taken")
    for path in saved:
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
              f"{path.stat().st_size / 1000:.0f} kB")


if __name__ == "__main__":
    main()
