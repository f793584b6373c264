"""docker-compose.yml, checked statically (no Docker engine here), and the CI environment."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_postgres_redis_web_worker_and_beat(compose):
    assert set(compose["services"]) == {"postgres", "redis", "web", "worker", "beat"}
    assert "gunicorn cheetah.wsgi" in compose["services"]["web"]["command"]
    assert compose["services"]["worker"]["command"][:5] == ["celery", "-A", "cheetah", "worker",
                                                           "--loglevel=INFO"]
    assert compose["services"]["beat"]["command"][:4] == ["celery", "-A", "cheetah", "beat"]


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
