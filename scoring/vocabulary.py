"""The names the scoring core and the web app share, defined once.

The web app builds its model choices from these (``competitions.models``) and a test ties the
two (tests/competitions/test_vocabulary.py), so a rule, split or measure added here cannot be
missing from a form, and one renamed on one side alone fails a test instead of drifting.
"""

from __future__ import annotations

# Tasks a phase can set (what the labels and predictions are: scoring.io).
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")

# Case splits of a ground truth: the leaderboard shows the public cases while a phase runs, the
# private ones decide the final standings.
PUBLIC = "public"
PRIVATE = "private"
SPLITS: tuple[str, ...] = (PUBLIC, PRIVATE)

# Entries meeting every floor of the phase first, by the primary column (scoring.ranking).
FLOOR_THEN_PRIMARY = "floor_then_primary"

# Ranking rules of a leaderboard (definitions: scoring.ranking, docs/ranking.md).
RULES: tuple[str, ...] = (
    "primary",
    "mean_rank",
    "median_rank",
    "worst_group",
    "rank_then_aggregate",
    "pareto",
)

# How a tie of several raters' vote is broken (scoring.raters.majority): the official ``label``;
# the positive class (binary 1, multiclass the last declared class); the negative class (binary
# 0, multiclass the first).
TIE_RULES: tuple[str, ...] = ("official", "positive", "negative")

# Directions of a metric or per-case scorer: which values are better.
HIGHER = "higher"
LOWER = "lower"
DIRECTIONS: tuple[str, ...] = (HIGHER, LOWER)


def higher_is_better(direction: str) -> bool:
    """Whether higher values are better for a metric of this ``direction``; raises
    ``ValueError`` for a direction that is neither, so a typo cannot silently mean "lower"."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be {HIGHER!r} or {LOWER!r}, got {direction!r}")
    return direction == HIGHER


# What a metric reads from a submission (the registry's ``Metric.uses``): binary decisions (the
# team's own 0/1 ``label`` column, else ``score >= threshold``, so the threshold matters), the
# binary scores themselves, the predicted class labels, the class probabilities, the regression
# values, or a per-case plugin scorer's values.
DECISIONS = "decisions"
SCORES = "scores"
CLASS_LABELS = "class_labels"
PROBABILITIES = "probabilities"
VALUES = "values"
PER_CASE = "per_case"
METRIC_INPUTS: tuple[str, ...] = (DECISIONS, SCORES, CLASS_LABELS, PROBABILITIES, VALUES,
                                  PER_CASE)

# Pairwise similarity measures of two entries (definitions: scoring.similarity), in the order
# reports store and print them.
SIMILARITY_MEASURES: tuple[str, ...] = (
    "agreement",
    "cohen_kappa",
    "error_consistency",
    "q_statistic",
    "disagreement",
    "double_fault",
    "score_correlation",
)
# The measures computed from the labels: shown to participants, they would reveal the labels of
# the cases two entries disagree on, so they stay hidden while a phase runs.
LABEL_SIMILARITY_MEASURES: frozenset[str] = frozenset(
    {"error_consistency", "q_statistic", "disagreement", "double_fault"}
)
