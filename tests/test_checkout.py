"""A fresh clone at the command line: ``make env`` is all a manage.py command needs, a missing
setting is one line, and a command logs nothing it need not (Newcomers issue, item 1)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.checkout import checkout_copy, run

NOISE = ("No hostname was supplied", "AXES: BEGIN", "Traceback")


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    return checkout_copy(tmp_path / "cheetah")


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """An unrelated working directory: commands must not depend on where they are typed."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def manage(clone: Path, cwd: Path, *args: str, **env: str):
    return run(
        [str(clone / ".venv" / "bin" / "python"), str(clone / "manage.py"), *args], cwd=cwd, **env
    )


def make_env(clone: Path):
    result = run(["make", "--no-print-directory", "env"], cwd=clone)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_a_command_in_a_clone_without_settings_says_what_is_missing_in_one_line(clone, elsewhere):
    result = manage(clone, elsewhere, "check")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "Cheetah: Set SECRET_KEY in the environment (or DEBUG=1 for development; in a checkout, "
        "`make env` writes both to .env)."
    ]


def test_export_study_runs_in_a_fresh_clone_with_only_what_make_env_wrote(clone, elsewhere):
    make_env(clone)
    assert stat.S_IMODE((clone / ".env").stat().st_mode) == 0o600  # it holds the secret key
    migrated = manage(clone, elsewhere, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    result = manage(clone, elsewhere, "export_study", "--list")
    assert result.returncode == 0, result.stderr
    assert not [text for text in NOISE if text in result.stderr]
    # The demo's database is the clone's own, under the folder .env names.
    assert (clone / "var" / "cheetah.sqlite3").is_file()


def test_make_env_keeps_its_secret_key_and_the_environment_wins_over_it(clone, elsewhere):
    make_env(clone)
    written = (clone / ".env").read_text()
    again = make_env(clone)
    assert (clone / ".env").read_text() == written
    assert "Wrote .env" not in again.stdout
    key = next(
        line.split("=", 1)[1] for line in written.splitlines() if line.startswith("SECRET_KEY=")
    )
    assert len(key) >= 50

    show = "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"
    from_file = manage(clone, elsewhere, "shell", "--no-imports", "-c", show)
    assert from_file.stdout.split() == ["True", key], from_file.stderr
    override = "o" * 60
    from_environment = manage(
        clone, elsewhere, "shell", "--no-imports", "-c", show, DEBUG="0", SECRET_KEY=override
    )
    assert from_environment.stdout.split() == ["False", override], from_environment.stderr


def test_sending_a_task_from_a_clone_logs_nothing(clone, elsewhere):
    """kombu warned "No hostname was supplied" for every connection to the demo's file-system
    broker, and django-axes logged its version at the start of every command."""
    make_env(clone)
    send = (
        "from cheetah.celery import app; "
        "app.send_task('competitions.tasks.sweep_stuck_submissions')"
    )
    result = manage(clone, elsewhere, "shell", "--no-imports", "-c", send)
    assert result.returncode == 0, result.stderr
    assert list((clone / "var" / "broker").glob("*.msg")), "the task was not queued"
    assert result.stdout + result.stderr == ""
