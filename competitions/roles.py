"""The organiser role: a group with the model permissions the scoped admin needs."""

from __future__ import annotations

ORGANISERS_GROUP = "Organisers"

ORGANISER_PERMISSIONS = {
    # Delete: drafts only (and their phases), as the admin checks per object.
    "challenge": ("add", "change", "delete", "view"),
    "phase": ("add", "change", "delete", "view"),
    "datafile": ("add", "change", "delete", "view"),
    "team": ("view",),
    "participant": ("view",),
    "submission": ("view", "change"),
    "submissionevent": ("view",),
    "similarityreport": ("view",),
    "submissionflag": ("view",),
    "leaderboard": ("add", "change", "delete", "view"),
    "leaderboardcolumn": ("add", "change", "delete", "view"),
}


def ensure_group(name: str, app_label: str, permissions: dict[str, tuple[str, ...]]) -> None:
    """Create or update a role group with exactly these model permissions of one app."""
    from django.contrib.auth.models import Group, Permission

    group, _created = Group.objects.get_or_create(name=name)
    codenames = [
        f"{action}_{model}" for model, actions in permissions.items() for action in actions
    ]
    group.permissions.set(
        Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
    )


def ensure_organiser_group(**_kwargs) -> None:
    """Create or update the group; connected to post_migrate so a fresh database has it."""
    ensure_group(ORGANISERS_GROUP, "competitions", ORGANISER_PERMISSIONS)
