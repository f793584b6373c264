"""The researcher role: model permissions for the admin; which studies is per study
(``Study.researchers``), checked in selectors.researched_by and the admin's querysets."""

from __future__ import annotations

RESEARCHERS_GROUP = "Researchers"

RESEARCHER_PERMISSIONS = {
    "study": ("view", "change"),
    "consentversion": ("add", "change", "view"),
    "survey": ("add", "change", "delete", "view"),
    "section": ("add", "change", "delete", "view"),
    "question": ("add", "change", "delete", "view"),
    "option": ("add", "change", "delete", "view"),
    "gridrow": ("add", "change", "delete", "view"),
    "arm": ("add", "change", "view"),
    "exportlog": ("view",),
}


def ensure_researcher_group(**_kwargs) -> None:
    """Create or update the group; connected to post_migrate so a fresh database has it."""
    from django.contrib.auth.models import Group, Permission

    group, _created = Group.objects.get_or_create(name=RESEARCHERS_GROUP)
    codenames = [
        f"{action}_{model}"
        for model, actions in RESEARCHER_PERMISSIONS.items()
        for action in actions
    ]
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="surveys", codename__in=codenames)
    )
