"""The researcher role: model permissions for the admin; which studies is per study
(``Study.researchers``), checked in selectors.researched_by and the admin's querysets."""

from __future__ import annotations

from competitions.roles import ensure_group

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
    "studyevent": ("view",),
}


def ensure_researcher_group(**_kwargs) -> None:
    """Create or update the group; connected to post_migrate so a fresh database has it."""
    ensure_group(RESEARCHERS_GROUP, "surveys", RESEARCHER_PERMISSIONS)
