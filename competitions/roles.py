"""The organiser role: a group with the model permissions the scoped admin needs."""

from __future__ import annotations

ORGANISERS_GROUP = "Organisers"

ORGANISER_PERMISSIONS = {
    "challenge": ("add", "change", "view"),
    "phase": ("add", "change", "view"),
    "datafile": ("add", "change", "delete", "view"),
    "team": ("view",),
    "participant": ("view",),
    "submission": ("view", "change"),
    "submissionevent": ("view",),
    "similarityreport": ("view",),
    "leaderboard": ("add", "change", "delete", "view"),
    "leaderboardcolumn": ("add", "change", "delete", "view"),
}


def ensure_organiser_group(**_kwargs) -> None:
    """Create or update the group; connected to post_migrate so a fresh database has it."""
    from django.contrib.auth.models import Group, Permission

    group, _created = Group.objects.get_or_create(name=ORGANISERS_GROUP)
    codenames = [
        f"{action}_{model}"
        for model, actions in ORGANISER_PERMISSIONS.items()
        for action in actions
    ]
    permissions = Permission.objects.filter(
        content_type__app_label="competitions", codename__in=codenames
    )
    group.permissions.set(permissions)
