"""Names both sides use: the core's constants that the web builds its choices from."""

from __future__ import annotations

#: The case splits of a ground truth: public (the leaderboard while a phase runs) and private.
SPLITS: tuple[str, ...] = ("public", "private")

#: The similarity measures a report holds, in the order pages show them.
SIMILARITY_MEASURES: tuple[str, ...] = (
    "error_consistency", "agreement", "cohen_kappa", "q_statistic", "disagreement",
    "double_fault", "score_correlation",
)
#: Those computed from the labels (which cases each entry gets wrong): they can reveal labels,
#: so participants see them only after a phase ends.
LABEL_SIMILARITY_MEASURES: frozenset[str] = frozenset(
    {"error_consistency", "q_statistic", "disagreement", "double_fault"}
)
