"""Periodic clean-up of what a person started and never finished: a bundle uploaded for the
admin's preview whose import was never confirmed."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from competitions.bundle_format import STASH_FOLDER, STASH_KEPT
from competitions.models import private_storage


def bundle_stashes_purge(*, now: datetime | None = None) -> int:
    """Delete bundles waiting longer than ``STASH_KEPT`` for a confirmation (the organiser
    closed the preview); returns how many went."""
    now = now or timezone.now()
    try:
        _folders, names = private_storage.listdir(STASH_FOLDER)
    except FileNotFoundError:
        return 0
    removed = 0
    for name in names:
        path = f"{STASH_FOLDER}/{name}"
        if now - private_storage.get_modified_time(path) > STASH_KEPT:
            private_storage.delete(path)
            removed += 1
    return removed
