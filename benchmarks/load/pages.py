"""CPU time and SQL queries of each page the load test reads, one request at a time.

Shows what a page costs without contention, to compare with the latencies under load. Run
against the database a load run left behind (same environment as ``run.sh``):

    DEBUG=0 SECRET_KEY=x ALLOWED_HOSTS=testserver SECURE_COOKIES=0 \
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wt_load REDIS_URL=redis://127.0.0.1:6379/7 \
    CHEETAH_VAR_DIR=var/load/var .venv/bin/python benchmarks/load/pages.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cheetah.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import User  # noqa: E402

BASE = "/c/flchain-mortality/"
PAGES = [
    "", "phases/test/leaderboard/", "phases/test/leaderboard/?fragment=1",
    "phases/test/leaderboard.json", "phases/test/results/", "submissions/",
    "submissions/status.json",
]
REPEAT = 5


def main() -> None:
    for username in (None, "load001"):
        client = Client()
        if username:
            client.force_login(User.objects.get(username=username))
        for page in PAGES:
            if username is None and page.startswith("submissions"):
                continue
            client.get(BASE + page)  # warm the cache and the template loader
            wall, cpu = time.perf_counter(), time.process_time()
            with CaptureQueriesContext(connection) as queries:
                for _ in range(REPEAT):
                    response = client.get(BASE + page)
            wall = (time.perf_counter() - wall) / REPEAT * 1000
            cpu = (time.process_time() - cpu) / REPEAT * 1000
            print(f"{username or 'anonymous':<10} {page or '(challenge)':<40} "
                  f"{response.status_code} {wall:5.0f} ms wall {cpu:5.0f} ms CPU "
                  f"{len(queries) / REPEAT:4.0f} queries")


if __name__ == "__main__":
    main()
