"""The production settings, loaded as a deployment loads them: from the environment, in a fresh
process (settings are read once, at start-up)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The environment README's "Production" section asks for, behind HTTPS (without what the
    test run itself sets, such as the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE)."""
    env = {
        key: value for key, value in os.environ.items()
        if key not in ("DEBUG", "SECURE_COOKIES", "DJANGO_SETTINGS_MODULE",
                       "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="challenges.example.org",
        SECURE_SSL_REDIRECT="1",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_PRELOAD="1",
        CHEETAH_VAR_DIR=str(tmp_path),
    )
    env.update(overrides)
    return env


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_is_clean_with_the_production_settings(tmp_path):
    result = _check_deploy(_production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr.replace("INFO", "")


def test_check_deploy_names_what_is_missing_without_https(tmp_path):
    """The check has teeth: without HSTS and the redirect it fails with Django's warnings."""
    result = _check_deploy(_production_env(tmp_path, SECURE_SSL_REDIRECT="0",
                                           SECURE_HSTS_SECONDS="0"))
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


def test_production_cookies_are_secure_and_pages_send_hsts(tmp_path):
    script = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
response = Client().get("/api/schema/", secure=True, HTTP_HOST="challenges.example.org")
insecure = Client().get("/api/schema/", HTTP_HOST="challenges.example.org")
print(json.dumps({
    "session": settings.SESSION_COOKIE_SECURE, "csrf": settings.CSRF_COOKIE_SECURE,
    "httponly": settings.SESSION_COOKIE_HTTPONLY,
    "hsts": response.get("Strict-Transport-Security"),
    "redirect": [insecure.status_code, insecure.get("Location")],
}))
"""
    env = _production_env(tmp_path, DJANGO_SETTINGS_MODULE="cheetah.settings")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["session"] is seen["csrf"] is seen["httponly"] is True
    assert seen["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert seen["redirect"] == [301, "https://challenges.example.org/api/schema/"]


@pytest.mark.parametrize("value", ["", "short"])
def test_production_refuses_to_start_without_a_real_secret_key(tmp_path, value):
    env = _production_env(tmp_path, SECRET_KEY=value)
    result = _check_deploy(env)
    assert result.returncode != 0
    assert ("Set SECRET_KEY" in result.stderr) or ("security.W009" in result.stderr)
