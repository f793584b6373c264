"""Actions on one account."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts import hooks


def account_delete(*, user) -> str:
    """Delete the user's account and everything that is theirs alone: each app's
    ``hooks.account_deletion_steps`` run first, in the same transaction. If rows other people
    keep still point at the account (their team's submissions, when another member keeps the
    team), it is emptied instead: no name, e-mail or password remain.
    Returns ``"deleted"`` or ``"anonymised"``."""
    with transaction.atomic():
        for step in hooks.account_deletion_steps:
            step(user)
        try:
            with transaction.atomic():
                user.delete()
            return "deleted"
        except ProtectedError:
            pass
        user.username = f"deleted-{uuid.uuid4().hex[:12]}"
        user.email = ""
        user.first_name = user.last_name = ""
        user.display_name = _("Deleted account")
        user.is_active = False
        user.set_unusable_password()
        user.save()
        return "anonymised"


def api_token_regenerate(*, user) -> Token:
    """A new API token for ``user``; the old one (if any) stops working at once."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)
