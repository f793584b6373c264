"""``python manage.py export_study SLUG --out DIR`` (or ``--list``): write a study's export."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from surveys import services
from surveys.models import Study


class Command(BaseCommand):
    help = (
        "Write a study's pseudonymised export (wide and long CSV, SPSS .sav, Stata .dta, "
        "datapackage.json, codebook.md) into a folder; --list prints the studies' slugs."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", nargs="?", help="the study's slug (see --list)")
        parser.add_argument("--out", type=Path, help="folder to write into (created if absent)")
        parser.add_argument("--list", action="store_true", help="print the studies' slugs")

    def handle(self, *args, slug: str | None, out: Path | None, list: bool, **options) -> None:
        if list:
            for study in Study.objects.order_by("slug"):
                self.stdout.write(f"{study.slug}\t{study.title}")
            return
        if not slug or out is None:
            raise CommandError("Give a study slug and --out DIR (or --list).")
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            known = ", ".join(Study.objects.order_by("slug").values_list("slug", flat=True))
            raise CommandError(f"No study is called {slug!r}. Studies: {known or 'none'}.")
        paths, rows = services.study_export(study=study, user=None, via="command", folder=out)
        for path in paths:
            self.stdout.write(str(path))
        self.stdout.write(self.style.SUCCESS(f"{rows} participants exported."))
