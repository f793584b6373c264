"""The README's screenshots and the script that takes them (docs/screenshots.py), without a
browser: the script starts, the README shows exactly the images in docs/img/, and they are the
size the script takes them at. Running the script itself takes about a minute (README,
"Screenshots")."""

from __future__ import annotations

import re
import runpy
import struct
import subprocess
import sys
from pathlib import Path

from competitions.management.commands.seed_demo import (
    ACCOUNTS,
    CHALLENGE_SLUG,
    DEMO_PASSWORD,
)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "docs" / "screenshots.py"
IMAGES = ROOT / "docs" / "img"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk (the first after the 8-byte signature)."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR", path
    return struct.unpack(">II", header[16:24])


def test_screenshot_script_explains_its_options():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "--url" in done.stdout and "docs/img" in done.stdout


def test_readme_shows_every_screenshot_in_docs_img_and_no_missing_one():
    shown = set(re.findall(r"\]\((docs/img/[^)]+)\)", (ROOT / "README.md").read_text()))
    files = {f"docs/img/{path.name}" for path in IMAGES.glob("*.png")}
    assert files == {"docs/img/leaderboard.png", "docs/img/results.png",
                     "docs/img/submission.png"}
    assert shown == files


def test_screenshots_are_laptop_wide_cut_in_height_and_small():
    for path in IMAGES.glob("*.png"):
        width, height = png_size(path)
        assert width == 1280 and 800 <= height <= 1600, (path.name, width, height)
        assert path.stat().st_size < 400_000, path.name


def test_script_logs_in_as_a_seeded_participant_of_the_demo_challenge():
    script = runpy.run_path(str(SCRIPT))
    roles = {username: role for username, _display, role in ACCOUNTS}
    assert roles[script["USERNAME"]] == "participant"
    assert script["PASSWORD"] == DEMO_PASSWORD
    assert script["CHALLENGE"] == f"c/{CHALLENGE_SLUG}/"
