"""Cheetah's user model.

A custom user from the first migration (Django's advice), so fields such as the leaderboard
display name live on the user rather than on a side table fetched per row.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    display_name = models.CharField(
        _("display name"),
        max_length=60,
        blank=True,
        help_text=_("Shown on leaderboards instead of your username; a pseudonym is fine."),
    )

    @property
    def public_name(self) -> str:
        """The name other participants see: the display name, or the username without one."""
        return self.display_name or self.username

    def __str__(self) -> str:
        return self.username
