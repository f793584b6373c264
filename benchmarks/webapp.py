"""A fresh web app for a benchmark: its own folder, SQLite database (unless ``DATABASE_URL``
is set) and private storage, migrated, so that timings never touch a developer's data."""

from __future__ import annotations

import os
import tempfile


def fresh_webapp() -> str:
    """Configure and set up Django on a new temporary folder, migrate; return the folder."""
    folder = tempfile.mkdtemp(prefix="cheetah-bench-")
    os.environ.setdefault("DEBUG", "1")
    os.environ["CHEETAH_VAR_DIR"] = folder
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cheetah.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return folder
