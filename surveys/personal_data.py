"""What the studies hold about one user, for their own download (GDPR Art. 15 and 20)."""

from __future__ import annotations

from surveys.models import ArmAssignment, ConsentDecision, Response, StudyEvent


def sections(user) -> dict:
    """Registered in ``accounts.hooks.personal_data_sections``: the user's consent history,
    survey answers, design arms and withdrawals (the studies' audit log about them)."""
    return {
        "consent_decisions": [
            {
                "study": d.study.slug,
                "version": d.version.version,
                "item": d.item,
                "agreed": d.agreed,
                "decided_at": d.decided_at,
            }
            for d in ConsentDecision.objects.filter(user=user).select_related("study", "version")
        ],
        "survey_responses": [
            _response(r)
            for r in Response.objects.filter(user=user)
            .select_related("survey__study")
            .prefetch_related("answers__question", "answers__row")
        ],
        "design_arms": [
            {"study": a.study.slug, "arm": a.arm.slug, "assigned_at": a.assigned_at}
            for a in ArmAssignment.objects.filter(user=user).select_related("study", "arm")
        ],
        "study_events": [
            {"study": e.study.slug, "kind": e.kind, "at": e.at, "detail": e.detail}
            for e in StudyEvent.objects.filter(user=user).select_related("study")
        ],
    }


def _response(response: Response) -> dict:
    return {
        "study": response.survey.study.slug,
        "survey": response.survey.slug,
        "survey_version": response.survey.version,
        "started_at": response.started_at,
        "completed_at": response.completed_at,
        "answers": [
            {
                "variable": a.row.variable if a.row else a.question.variable,
                "question": a.row.text if a.row else a.question.text,
                "codes": a.codes,
                "number": a.number,
                "text": a.text,
                "prefer_not_to_say": a.declined,
            }
            for a in response.answers.all()
        ],
    }
