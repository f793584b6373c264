"""Flagging, for the organisers, submissions that look like probes of the evaluation.

The worker runs ``scoring.probes`` on each scored submission's per-case arrays against the
person's earlier scored submissions in the phase (whatever team they were in), and stores what it
finds with the result. Participants never see a flag.
"""

from __future__ import annotations

from competitions.case_results import CaseArrays, stored_decisions
from competitions.models import Submission, SubmissionFlag
from scoring.probes import probe_findings


def probe_flags(submission: Submission, arrays: CaseArrays) -> list[SubmissionFlag]:
    """Unsaved flags for ``submission`` (its arrays as just scored)."""
    earlier = (
        Submission.objects.filter(
            phase_id=submission.phase_id, created_by_id=submission.created_by_id,
            status=Submission.Status.SCORED, created_at__lt=submission.created_at,
        )
        .exclude(pk=submission.pk)
        .exclude(case_decisions="")
    )
    scores = arrays.scores if arrays.scores.ndim == 1 else None
    findings = probe_findings(arrays.decisions, scores, stored_decisions(list(earlier)))
    return [
        SubmissionFlag(submission=submission, reason=found.reason, detail=found.detail[:300],
                       differing_cases=found.differing_cases, earlier_id=found.earlier)
        for found in findings
    ]


def probe_flags_replace(submission: Submission, flags: list[SubmissionFlag]) -> None:
    """Store this scoring's flags in place of a previous scoring's (a rescore)."""
    SubmissionFlag.objects.filter(submission=submission).delete()
    SubmissionFlag.objects.bulk_create(flags)
