"""Locust users for Cheetah's load test: readers of the demo challenge and uploaders.

Needs the manifest written by ``prepare.py`` (``LOAD_MANIFEST``, default
``var/load/manifest.json``). ``run.sh`` starts it headless; by hand:

    .venv/bin/locust -f benchmarks/load/locustfile.py --host http://127.0.0.1:8000 \
        --headless --users 210 --spawn-rate 5 --run-time 5m

Users (``--users`` = 200 readers + ``UPLOADERS``, spawned first as a fixed count):

* ``Reader`` (weight 3): anonymous visitor; challenge page, the leaderboards it may see (HTML
  and the JSON export), the results page.
* ``Participant`` (weight 1): logged in as one of the ``loadNNN`` accounts; the same pages plus
  its team's submission list, the status poll the list page makes, and a submission's page.
* ``Uploader`` (``UPLOADERS``, default 10): logged in, uploads a real prediction CSV through the
  browser form at ``UPLOADS_PER_MINUTE`` (default 30) across all uploaders, moving to the next
  ``loadNNN`` account before its team's daily quota runs out. Ten uploaders of 3 a minute keep
  the rate even when a slow page holds one of them for ten seconds (with five, the rate fell
  to 25 a minute at 5 s per page).

Requests are named by page (``/c/[slug]/…``) so the CSV stats give one row per page. Think time
between a reader's pages is 3–12 s, which is what a person reading a leaderboard does; 200
readers then make about 25 requests a second.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
from pathlib import Path

from locust import HttpUser, between, constant_throughput, events, task
from locust.exception import StopUser

MANIFEST = json.loads(
    Path(os.environ.get("LOAD_MANIFEST", "var/load/manifest.json")).read_text()
)
SLUG = MANIFEST["challenge"]
PHASE = MANIFEST["phase"]
PASSWORD = MANIFEST["password"]
UPLOADERS = int(os.environ.get("UPLOADERS", "10"))
UPLOADS_PER_MINUTE = float(os.environ.get("UPLOADS_PER_MINUTE", "30"))
# Leave one slot of the daily quota spare, so a retried upload never meets a refusal.
UPLOADS_PER_ACCOUNT = max(1, MANIFEST["per_day_quota"] - 1)

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SUBMISSION_RE = re.compile(rf"/c/{re.escape(SLUG)}/submissions/(\d+)/")

# Readers log in as the first accounts, uploaders take the rest, so their quotas do not mix.
_participants = MANIFEST["participants"]
_lock = threading.Lock()  # locust runs users as greenlets; the lock keeps this obviously safe
_reader_accounts = itertools.cycle(_participants[: len(_participants) // 3])
_uploader_accounts = iter(_participants[len(_participants) // 3:])


_addresses = (f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}" for n in itertools.count(1))


def _next(accounts) -> dict:
    with _lock:
        return next(accounts)


def _own_address(user: HttpUser) -> None:
    """Each simulated person comes from an address of their own, as 200 people would: sent as
    ``X-Forwarded-For`` (``run.sh`` tells the app there is one proxy in front of it), so the
    per-address limits (the downloads' anonymous rate, the login lockout) count each reader,
    not the one address all of locust shares."""
    with _lock:
        user.client.headers["X-Forwarded-For"] = next(_addresses)


def _login(user: HttpUser, username: str) -> None:
    """Log in through the form, as a browser does (CSRF cookie and token)."""
    user.client.cookies.clear()
    page = user.client.get("/accounts/login/", name="/accounts/login/")
    token = CSRF_RE.search(page.text)
    user.client.post(
        "/accounts/login/",
        data={"username": username, "password": PASSWORD,
              "csrfmiddlewaretoken": token.group(1) if token else ""},
        headers={"Referer": f"{user.host}/accounts/login/"},
        name="/accounts/login/ [POST]",
    )


class _Browsing(HttpUser):
    """The pages every visitor reads; ``boards`` are the leaderboards this visitor may see."""

    abstract = True
    wait_time = between(3, 12)
    boards: list[str] = []

    def _board(self) -> str:
        return random.choice(self.boards)

    @task(2)
    def challenge_page(self) -> None:
        self.client.get(f"/c/{SLUG}/", name="/c/[slug]/")

    @task(6)
    def leaderboard(self) -> None:
        self.client.get(
            f"/c/{SLUG}/phases/{PHASE}/leaderboard/?board={self._board()}",
            name="/c/[slug]/phases/[phase]/leaderboard/",
        )

    @task(2)
    def leaderboard_json(self) -> None:
        self.client.get(
            f"/c/{SLUG}/phases/{PHASE}/leaderboard.json?board={self._board()}",
            name="/c/[slug]/phases/[phase]/leaderboard.json",
        )

    @task(1)
    def leaderboard_poll(self) -> None:
        """The open page's in-place refresh (``?fragment=1``) when a new snapshot lands."""
        self.client.get(
            f"/c/{SLUG}/phases/{PHASE}/leaderboard/?board={self._board()}&fragment=1",
            name="/c/[slug]/phases/[phase]/leaderboard/?fragment",
        )

    @task(2)
    def results(self) -> None:
        self.client.get(
            f"/c/{SLUG}/phases/{PHASE}/results/?board={self._board()}",
            name="/c/[slug]/phases/[phase]/results/",
        )


class Reader(_Browsing):
    weight = 3

    def on_start(self) -> None:
        _own_address(self)
        self.boards = MANIFEST["anonymous_boards"]


class Participant(_Browsing):
    weight = 1

    def on_start(self) -> None:
        _own_address(self)
        account = _next(_reader_accounts)
        self.boards = account["boards"]
        _login(self, account["username"])
        self.submission_ids: list[str] = []

    @task(3)
    def my_submissions(self) -> None:
        page = self.client.get(f"/c/{SLUG}/submissions/", name="/c/[slug]/submissions/")
        self.submission_ids = SUBMISSION_RE.findall(page.text) or self.submission_ids
        self.client.get(
            f"/c/{SLUG}/submissions/status.json", name="/c/[slug]/submissions/status.json"
        )

    @task(2)
    def my_submission(self) -> None:
        if self.submission_ids:
            pk = random.choice(self.submission_ids)
            self.client.get(f"/c/{SLUG}/submissions/{pk}/", name="/c/[slug]/submissions/[id]/")


class Uploader(HttpUser):
    """Uploads through the browser form, as a participant does, at a fixed overall rate."""

    fixed_count = UPLOADERS
    wait_time = constant_throughput(UPLOADS_PER_MINUTE / 60 / max(1, UPLOADERS))

    def on_start(self) -> None:
        _own_address(self)
        self.uploads_left = 0
        self.files = [Path(p) for p in MANIFEST["predictions"]]

    def _switch_account(self) -> None:
        try:
            account = _next(_uploader_accounts)
        except StopIteration:
            raise StopUser() from None  # every team's quota for today is used
        _login(self, account["username"])
        self.uploads_left = UPLOADS_PER_ACCOUNT

    @task
    def upload(self) -> None:
        if self.uploads_left == 0:
            self._switch_account()
        form_url = f"/c/{SLUG}/phases/{PHASE}/submit/"
        page = self.client.get(form_url, name="/c/[slug]/phases/[phase]/submit/")
        token = CSRF_RE.search(page.text)
        path = random.choice(self.files)
        with path.open("rb") as handle, self.client.post(
            form_url,
            data={"csrfmiddlewaretoken": token.group(1) if token else "",
                  "description": f"Load test upload of {path.name}"},
            files={"file": (path.name, handle, "text/csv")},
            headers={"Referer": f"{self.host}{form_url}"},
            name="/c/[slug]/phases/[phase]/submit/ [POST]",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            # Success is the redirect to the submission list; a form shown again is a refusal.
            if response.status_code == 302:
                response.success()
                self.uploads_left -= 1
            else:
                response.failure(f"upload refused or failed: HTTP {response.status_code}")


@events.test_start.add_listener
def _announce(environment, **_kwargs) -> None:
    print(f"Load test on {SLUG}/{PHASE}: {UPLOADERS} uploaders at {UPLOADS_PER_MINUTE}/min, "
          f"{len(MANIFEST['predictions'])} prediction files")
