"""Debian's Chromium as the browser tests and ``docs/screenshots.py`` launch it (through
Playwright, which downloads no browser of its own)."""

from __future__ import annotations

import os

# No sandbox: the tests and CI run as root in a container, where Chromium's sandbox cannot
# start; the rest keeps a headless run from reaching the network on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """The browser to drive: ``CHROMIUM_PATH``, else Debian's ``/usr/bin/chromium``."""
    return os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
