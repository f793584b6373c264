"""Reads about one account."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.authtoken.models import Token

from accounts import hooks


def personal_data(user) -> dict[str, Any]:
    """Everything Cheetah holds about ``user``, for their own download: the account, then each
    app's sections (``hooks.personal_data_sections``) in the order the apps registered them."""
    data: dict[str, Any] = {
        "account": {
            "username": user.username,
            "email": user.email,
            "display_name": user.display_name,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
        },
    }
    for sections in hooks.personal_data_sections:
        part = sections(user)
        if clash := data.keys() & part.keys():
            raise ImproperlyConfigured(f"Two apps give the personal-data section(s) {clash}.")
        data.update(part)
    return data


def api_token(user) -> str | None:
    """The user's API token key, or ``None`` before they first create one."""
    return Token.objects.filter(user=user).values_list("key", flat=True).first()
