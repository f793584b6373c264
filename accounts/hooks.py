"""Extension points through which other apps take part in an account's life, so that accounts
never imports them (as ``competitions.hooks`` does for studies).

An app registers its callables in its ``AppConfig.ready``; they are called in registration
order, which is the order of ``INSTALLED_APPS``.

- ``personal_data_sections``: what the app holds about a user, for "download my data" (GDPR
  Art. 15 and 20). A callable takes the user and returns ``{section name: JSON-ready data}``;
  values ``json.dumps(default=str)`` can write (dates become strings). Nothing about other
  people: a team mate appears by team name only. Section names are unique across apps.
- ``account_deletion_steps``: what the app removes when a user deletes their account. A
  callable takes the user and deletes what is theirs alone; it runs inside the deletion's
  transaction, before the account itself is deleted or emptied, so a failing step deletes
  nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PersonalDataSection = Callable[[Any], dict[str, Any]]
AccountDeletionStep = Callable[[Any], None]

personal_data_sections: list[PersonalDataSection] = []
account_deletion_steps: list[AccountDeletionStep] = []


def register(hooks: list, function: Callable) -> None:
    """Add ``function`` to ``hooks`` once, however often ``ready`` runs (as tests may)."""
    if function not in hooks:
        hooks.append(function)
