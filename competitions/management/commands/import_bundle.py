"""Make a new draft challenge from a bundle (docs/bundles.md)."""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from competitions import services


class Command(BaseCommand):
    help = "Import a bundle ZIP as a new draft challenge organised by --user."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path")
        parser.add_argument("--user", required=True, help="Username of the new organiser.")

    def handle(self, *args, path: str, user: str, **options) -> None:
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"No user “{user}”.")
        started = time.perf_counter()
        try:
            with open(path, "rb") as handle:
                challenge = services.bundle_import(handle, user=owner)
        except ValidationError as exc:
            raise CommandError("The bundle is refused:\n- " + "\n- ".join(exc.messages)) from exc
        self.stdout.write(
            f"Imported “{challenge.title}” as the draft challenge {challenge.slug} in "
            f"{time.perf_counter() - started:.2f} s."
        )
