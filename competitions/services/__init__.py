"""Actions on challenges, teams, phases and submissions: every write of the web side.

Each service validates, writes inside one transaction and returns the object. Errors a user can
cause are ``django.core.exceptions.ValidationError`` with a message the user understands; the
views, the API and the admin show it. Work for the worker is sent only through
``competitions.worker.dispatch``. One module per family; the names are re-exported here so the
edge writes ``services.submission_create(...)``.
"""

from competitions.services.bundles import (
    bundle_export,
    bundle_import,
    bundle_preview,
    bundle_stash,
    bundle_stash_drop,
    bundle_stash_import,
)
from competitions.services.merges import (
    team_merge_accept,
    team_merge_cancel,
    team_merge_decline,
    team_merge_request,
)
from competitions.services.phases import (
    phase_create,
    phase_default_leaderboard,
    phase_leaderboards_recompute,
    phase_rescore,
    phase_save,
    phase_scores_publish,
    phase_similarity_recompute,
    phase_truth_report_refresh,
    truth_case_id_problem,
    truth_upload,
)
from competitions.services.reports import phase_report_request, phase_report_retry
from competitions.services.submissions import (
    submission_create,
    submission_refusal,
    submission_select,
)
from competitions.services.teams import (
    participant_join,
    team_create,
    team_invite,
    team_join,
    team_leave,
    team_set_anonymous,
)

__all__ = [
    "phase_report_request",
    "phase_report_retry",
    "bundle_export",
    "bundle_import",
    "bundle_preview",
    "bundle_stash",
    "bundle_stash_drop",
    "bundle_stash_import",
    "participant_join",
    "phase_create",
    "phase_default_leaderboard",
    "phase_leaderboards_recompute",
    "phase_rescore",
    "phase_save",
    "phase_scores_publish",
    "phase_similarity_recompute",
    "phase_truth_report_refresh",
    "submission_create",
    "submission_refusal",
    "submission_select",
    "team_create",
    "team_invite",
    "team_join",
    "team_leave",
    "team_merge_accept",
    "team_merge_cancel",
    "team_merge_decline",
    "team_merge_request",
    "team_set_anonymous",
    "truth_case_id_problem",
    "truth_upload",
]
