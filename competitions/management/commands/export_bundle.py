"""Write a challenge's bundle (docs/bundles.md) to a file."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from competitions import services
from competitions.models import Challenge


class Command(BaseCommand):
    help = "Export a challenge (by slug) as a bundle ZIP."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("path", help="Where to write the ZIP.")

    def handle(self, *args, slug: str, path: str, **options) -> None:
        challenge = Challenge.objects.filter(slug=slug).first()
        if challenge is None:
            raise CommandError(f"No challenge with the slug “{slug}”.")
        started = time.perf_counter()
        content = services.bundle_export(challenge)
        Path(path).write_bytes(content)
        self.stdout.write(
            f"Wrote {path}: {len(content):,} bytes in {time.perf_counter() - started:.2f} s."
        )
