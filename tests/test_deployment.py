"""docker-compose.yml and .dockerignore, checked statically (no Docker engine here), and the CI
environment."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.db import connection

from tests.e2e.hosts import required

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_postgres_redis_web_worker_and_beat(compose):
    assert set(compose["services"]) == {
        "postgres", "redis", "web", "worker", "field-worker", "beat"}
    assert "gunicorn cheetah.wsgi" in compose["services"]["web"]["command"]
    assert compose["services"]["worker"]["command"][:5] == [
        "celery",
        "-A",
        "cheetah",
        "worker",
        "--loglevel=INFO",
    ]
    assert compose["services"]["beat"]["command"][:4] == ["celery", "-A", "cheetah", "beat"]
    # Scoring and the field's analyses on their own queues, each with its workers.
    queues = {name: compose["services"][name]["command"] for name in ("worker", "field-worker")}
    assert queues["worker"][queues["worker"].index("-Q") + 1] == "cheetah"
    assert queues["field-worker"][queues["field-worker"].index("-Q") + 1] == "cheetah.field"


def test_web_worker_and_beat_share_one_environment(compose):
    envs = [compose["services"][name]["environment"] for name in ("web", "worker", "beat")]
    assert envs[0] == envs[1] == envs[2]
    env = envs[0]
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:")
    assert env["REDIS_URL"].startswith("redis://redis:")
    assert env["DEBUG"] == "0"
    assert "?" in env["SECRET_KEY"]  # required, no default
    for name in ("AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL"):
        assert name in env


def test_every_variable_compose_sets_is_read_by_the_settings(compose):
    source = (ROOT / "cheetah" / "settings.py").read_text()
    for name in compose["services"]["web"]["environment"]:
        if name.startswith("AWS_") and name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            continue  # read by boto3 itself
        assert f'"{name}"' in source, name


def test_ci_uses_the_real_services():
    """In CI (CHEETAH_REQUIRE_SERVICES=1) missing Postgres, Redis or Chromium fails here."""
    if os.environ.get("CHEETAH_REQUIRE_SERVICES") != "1":
        assert connection.vendor in ("sqlite", "postgresql")
        return
    assert connection.vendor == "postgresql"
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    import redis

    assert redis.Redis.from_url(settings.CELERY_BROKER_URL).ping()
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    assert shutil.which(chromium), f"Chromium not found at {chromium}"


@pytest.mark.django_db(transaction=True)
def test_with_database_pool_set_connections_come_from_psycopgs_pool_and_outlive_close():
    """DATABASE_POOL=1 (CI sets it): Django takes its connection from psycopg's pool, and a
    closed connection goes back to the pool, still open on the server, for the next one."""
    pooled = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    if os.environ.get("CHEETAH_REQUIRE_SERVICES") == "1":
        assert os.environ.get("DATABASE_POOL") == "1", "CI runs the suite through the pool"
    required(connection.vendor == "postgresql" and bool(pooled),
             "DATABASE_POOL is not set (or the database is SQLite)")
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 0
    connection.ensure_connection()
    assert connection.pool is not None
    assert connection.connection._pool is connection.pool  # psycopg_pool marks what it lent
    with connection.cursor() as cursor:
        cursor.execute("select pg_backend_pid()")
        first = cursor.fetchone()[0]
    connection.close()
    assert connection.connection is None
    with connection.cursor() as cursor:  # a backend that was already open, not a new one
        cursor.execute("select pid from pg_stat_activity where pid = %s", [first])
        assert cursor.fetchone() == (first,)
    stats = connection.pool.get_stats()
    assert 1 <= stats["pool_size"] <= settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]


def _dockerignore_patterns() -> list[tuple[bool, re.Pattern]]:
    """.dockerignore as Docker reads it (moby/patternmatcher): each line a pattern matched
    against the path from the context's root, after a cleaning of the path; ``*`` and ``?``
    stop at ``/``, ``**`` crosses folders; ``!`` re-includes; the last matching line wins."""
    patterns = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        text = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        regex = ""
        i = 0
        while i < len(text):
            if text.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif text.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif text[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif text[i] == "?":
                regex, i = regex + "[^/]", i + 1
            elif text[i] == "[":
                end = text.index("]", i)
                regex, i = regex + text[i : end + 1], end + 1
            else:
                regex, i = regex + re.escape(text[i]), i + 1
        patterns.append((include, re.compile(regex + r"\Z")))
    return patterns


def _in_build_context(path: str, patterns) -> bool:
    """Whether ``docker build .`` sends ``path``: a pattern that matches it or a parent folder
    of it decides, the last one that does wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    sent = True
    for include, pattern in patterns:
        if any(pattern.match(candidate) for candidate in candidates):
            sent = include
    return sent


def test_the_image_gets_the_sources_but_not_the_checkouts_secrets_or_state():
    """The Dockerfile copies the whole context (COPY . .); without .dockerignore, the .env that
    make env writes (the checkout's SECRET_KEY) and the demo's database went into the image."""
    patterns = _dockerignore_patterns()
    local = [
        ".env",
        "var/cheetah.sqlite3",
        "var/cheetah.sqlite3-wal",
        "var/demo.key",
        "var/private/truth/flchain.csv",
        "var/broker/1_abc.cheetah.msg",
        "db.sqlite3",
        "competitions/fixtures/copy.sqlite3",
        ".venv/bin/python",
        ".git/config",
        "scoring/__pycache__/tallies._tally-170.py311.1.nbc",
        "cheetah/__pycache__/settings.cpython-311.pyc",
        "media/avatar.png",
    ]
    assert [path for path in local if _in_build_context(path, patterns)] == []
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "manage.py" in tracked and "scoring/tallies.py" in tracked
    assert [path for path in tracked if not _in_build_context(path, patterns)] == []


def test_the_image_ships_compiled_kernels_outside_the_files_volume(compose):
    """Kernels compiled at build time in a folder the volume does not cover, so that a new image's
    kernels are not hidden by an older image's copy in the volume."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    cache = re.search(r"NUMBA_CACHE_DIR=(\S+)", dockerfile)[1]
    assert "python -m scoring warm" in dockerfile
    assert dockerfile.index("COPY . .") < dockerfile.index("python -m scoring warm")
    mounts = [volume.split(":")[1] for volume in compose["services"]["worker"]["volumes"]]
    assert not [mount for mount in mounts if Path(cache).is_relative_to(mount)]


def test_the_image_collects_static_files_with_their_manifest_outside_the_files_volume(
    compose, tmp_path
):
    """Production serves static files through the manifest storage, which needs the manifest
    collectstatic writes only with DEBUG off; and the files sit outside the volume, so a new
    image's files are not hidden by an older image's copy. The build's command, run here."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    static_root = re.search(r"STATIC_ROOT=(\S+)", dockerfile)[1]
    mounts = [volume.split(":")[1] for volume in compose["services"]["web"]["volumes"]]
    assert not [mount for mount in mounts if Path(static_root).is_relative_to(mount)]
    command = re.search(r"(DEBUG=0 \S+ python manage.py collectstatic --noinput)", dockerfile)[1]
    env = {key: value for key, value in os.environ.items()
           if key not in {"DEBUG", "SECRET_KEY", "DATABASE_URL"}}
    env.update(STATIC_ROOT=str(tmp_path / "static"), CHEETAH_VAR_DIR=str(tmp_path / "var"))
    done = subprocess.run(command.replace("python", sys.executable, 1), shell=True, cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    assert "cheetah/cheetah.css" in manifest["paths"]
    assert "cheetah/favicon.svg" in manifest["paths"]
