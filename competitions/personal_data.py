"""What the challenges hold about one user, for their own download (GDPR Art. 15 and 20)."""

from __future__ import annotations

from competitions.models import Participant, Submission


def sections(user) -> dict:
    """Registered in ``accounts.hooks.personal_data_sections``: the user's participations and
    the metadata of the submissions they made (not the files). Team mates appear by team name
    only."""
    return {
        "participations": [
            {"challenge": p.challenge.slug, "team": p.team.name, "joined_at": p.joined_at}
            for p in Participant.objects.filter(user=user).select_related("challenge", "team")
        ],
        "submissions": [
            {
                "challenge": s.phase.challenge.slug,
                "phase": s.phase.slug,
                "file_name": s.original_name,
                "description": s.description,
                "status": s.status,
                "created_at": s.created_at,
            }
            for s in Submission.objects.filter(created_by=user).select_related("phase__challenge")
        ],
    }
