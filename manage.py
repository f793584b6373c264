#!/usr/bin/env python
"""Django's command-line utility for Cheetah."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cheetah.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    # Load the settings here, so that a missing setting (SECRET_KEY outside a checkout that ran
    # `make env`) is the one line the settings wrote, not a traceback through Django's loader.
    # Errors raised later, by a command, keep their traceback.
    try:
        settings.INSTALLED_APPS  # noqa: B018 - the first read imports cheetah/settings.py
    except ImproperlyConfigured as error:
        sys.exit(f"Cheetah: {error}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
