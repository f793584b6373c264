"""Reads for the pages, the API and the exports: one module per page family, re-exported here.

Selectors never write and never import the worker; every number they hand out has passed the
release step (``competitions.release``).
"""

from competitions.selectors.advice import phase_metric_advice
from competitions.selectors.board_pages import leaderboard_page, results_page
from competitions.selectors.challenges import (
    challenges_visible_to,
    leaderboard_splits,
    phase_leaderboards_for,
    phases_overview,
)
from competitions.selectors.compute import compute_view
from competitions.selectors.glossary import metric_glossary
from competitions.selectors.leaderboards import (
    counts_team_picks,
    entry_view,
    leaderboard_snapshot_stamp,
    leaderboard_table,
)
from competitions.selectors.raters import phase_raters
from competitions.selectors.reports import (
    REPORT_FORMATS,
    phase_report_current,
    report_file,
    report_status,
)
from competitions.selectors.results import label_bias_rows, results_view, truth_populations
from competitions.selectors.similarity import ensemble_rows, entry_labels, similarity_view
from competitions.selectors.submissions import (
    api_results_for,
    quota_remaining,
    subgroup_rows,
    submission_cost,
    submission_results,
    team_submission_rows,
    team_submissions,
    user_submissions,
)
from competitions.selectors.teams import team_merges

__all__ = [
    "REPORT_FORMATS",
    "phase_report_current",
    "report_file",
    "report_status",
    "api_results_for",
    "challenges_visible_to",
    "compute_view",
    "ensemble_rows",
    "entry_labels",
    "counts_team_picks",
    "entry_view",
    "label_bias_rows",
    "leaderboard_splits",
    "leaderboard_page",
    "leaderboard_snapshot_stamp",
    "leaderboard_table",
    "metric_glossary",
    "phase_leaderboards_for",
    "phase_metric_advice",
    "phase_raters",
    "phases_overview",
    "quota_remaining",
    "results_page",
    "results_view",
    "similarity_view",
    "subgroup_rows",
    "submission_cost",
    "submission_results",
    "team_merges",
    "team_submission_rows",
    "team_submissions",
    "truth_populations",
    "user_submissions",
]
