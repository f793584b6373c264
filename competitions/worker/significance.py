"""Which entries of a leaderboard differ significantly on its first ranked column, computed by
``scoring.compare.compare_entries`` from the stored per-case results and stored with the
snapshot: the tie marks of the leaderboard and the significance map of the results page.

Like the rank intervals, this runs on the field queue after the ranking is stored (the ranking
shows at once, the comparison follows: ``worker.analyses``), and is stored only with the
snapshot it was computed for. The comparison is on the board's split (its cases only) and, for
a column on one group (``metric@sex=female``), on that group's cases of the split. A
worst-group column (``metric@worst(sex)``) is compared on the metric over all of the split's
cases: two entries' worst groups may differ, and one family of tests needs one set of cases
(docs/ranking.md).
"""

from __future__ import annotations

import logging

import numpy as np

from competitions.boards import ranked_column_specs
from competitions.case_results import CaseMatrix, phase_case_matrix
from competitions.models import Leaderboard, LeaderboardSnapshot
from competitions.splits import split_mask
from competitions.worker.evaluation import BOOTSTRAP_SEED
from scoring.columns import Column
from scoring.compare import Comparison, PairComparison, compare_entries, holm
from scoring.errors import InputError
from scoring.io import Predictions, Truth
from scoring.ranking import rank_columns
from scoring.weighted_stats import PER_CASE_METRICS, per_case_loss

logger = logging.getLogger(__name__)

ALPHA = 0.05
# The fewest resamples for the paired-bootstrap intervals and test, whatever the phase uses for
# its metric intervals (which may be turned off). Not fewer than 1,000: under Holm's correction
# the paired bootstrap rejects only where no resample crosses zero (p = 0), which happens more
# often the fewer the resamples (50 entries x 2,000 cases, sensitivity: 136 of 1,225 pairs
# with 200 resamples, 48 with 1,000, 32 with 2,000).
MIN_RESAMPLES = 1000
# Above this many entries every pair is too many (S(S-1)/2 tests, intervals and rows): the tie
# marks then come from the adjacent pairs alone and the map from the first MAP_ENTRIES.
MAX_ALL_PAIRS = 200
# The results page draws the map of the board's first entries only: 30 x 30 cells stay legible.
MAP_ENTRIES = 30
# Places of the podium: how often each entry is first, second, ... on a test case (the
# results page draws as many: competitions.presentation.charts.PODIUM_PLACES).
PODIUM_PLACES = 10


def significance_cases(
    truth: Truth, split: str, spec: Column, *, min_group_size: int
) -> tuple[np.ndarray | None, str]:
    """The cases the column's entries are compared on (None: not compared), and a note for the
    page ("" if none). A group smaller than ``min_group_size`` is not compared: its values are
    withheld from participants, and so are the differences between them."""
    cases = split_mask(truth, split)
    if cases is None:
        cases = np.zeros(truth.n, dtype=bool)
    if spec.attribute is None:
        return cases, ""
    if spec.worst:
        return cases, (
            f"{spec.id} is compared on {spec.metric} over all cases of the split: two entries' "
            "worst groups may differ, and one family of tests needs one set of cases."
        )
    cases = cases & (truth.attributes[spec.attribute] == spec.group)
    if cases.sum() < min_group_size:
        return None, (f"The group of {spec.id} has fewer than {min_group_size} cases here: its "
                      "entries are not compared.")
    return cases, ""


def field_predictions(matrix: CaseMatrix) -> list[Predictions]:
    """Each row of a binary case matrix as the predictions ``compare_entries`` reads: the stored
    scores and the 0/1 decisions that were scored (the team's own labels, else the threshold)."""
    return [
        Predictions(task="binary", scores=scores, labels=decisions.astype(np.int64))
        for scores, decisions in zip(matrix.scores, matrix.decisions, strict=True)
    ]


def significance_compute(
    board: Leaderboard, split: str, ids: list[int], truth: Truth | None = None
) -> tuple[dict, dict[tuple[int, int], bool | None]]:
    """Compare the entries ``ids`` (a snapshot's, in its order) on the board's first ranked
    column: what ``summary["significance"]`` stores (docs/ranking.md), and the tie marks of
    consecutive rows, ``(above, below) -> tied``."""
    specs = ranked_column_specs(board)
    phase = board.phase
    stored: dict = {"alpha": ALPHA, "pairs": [], "entries": [], "adjacent": [], "note": ""}
    tied: dict[tuple[int, int], bool | None] = {}
    if not specs:
        stored["note"] = "The leaderboard has no ranked column to compare on."
    elif len(ids) < 2:
        stored["note"] = "Comparing entries needs at least two entries."
    elif phase.challenge.task != "binary":
        stored["note"] = "Entries are compared for binary tasks only, so far."
    else:
        spec = specs[0]
        resamples = max(MIN_RESAMPLES, phase.bootstrap_resamples)
        stored |= {"column": spec.id, "metric": spec.metric, "resamples": resamples,
                   "seed": BOOTSTRAP_SEED}
        try:
            matrix = phase_case_matrix(phase, ids, truth=truth)
            cases, stored["note"] = significance_cases(matrix.truth, split, spec,
                                                       min_group_size=phase.min_group_size)
            if cases is not None:
                options = {"metric": spec.metric, "threshold": phase.threshold,
                           "costs": phase.error_costs, "cases": cases,
                           "alpha": ALPHA, "bootstrap": resamples, "seed": BOOTSTRAP_SEED}
                stored |= _compare(matrix.truth, field_predictions(matrix), ids, options)
                stored["podium"] = case_podium(matrix, cases, spec, ids)
                tied = _adjacent_ties(ids, stored)
        except InputError as exc:
            stored["note"] = " ".join(exc.problems)
        except (OSError, ValueError) as exc:
            # A per-case file that cannot be read must not stop the ranking from showing.
            logger.warning("Leaderboard %s (%s): no comparison: %s", board.pk, split, exc)
            stored["note"] = "The entries could not be compared for this field."
    return stored, tied


def significance_apply(snapshot: LeaderboardSnapshot, stored: dict,
                       tied: dict[tuple[int, int], bool | None]) -> None:
    """Write ``tied_with_above`` into the snapshot's rows and the comparison into its summary
    (the caller saves it)."""
    for above, row in zip([None, *snapshot.rows], snapshot.rows, strict=False):
        row["tied_with_above"] = (
            None if above is None else tied.get((above["submission"], row["submission"]))
        )
    snapshot.summary = {**snapshot.summary, "significance": stored}


def case_podium(matrix: CaseMatrix, cases: np.ndarray, spec: Column,
                ids: list[int]) -> dict | None:
    """challengeR's podium counts for a per-case metric: how often each entry takes place 1, 2,
    ... (up to PODIUM_PLACES) when the entries are ranked on each test case (ties share the best
    place, as challengeR's ``ties.method = "min"``); None for a metric without per-case values.

    Only the counts are kept: the per-case values themselves (which challengeR draws above the
    podium) would tell a team the label of each case from its own score."""
    if spec.metric not in PER_CASE_METRICS or not cases.any():
        return None
    values = per_case_loss(spec.metric, matrix.labels[cases].astype(float),
                           matrix.scores[:, cases])
    ranks = rank_columns(values, spec.higher_is_better)
    places = min(PODIUM_PLACES, len(ids))
    counts = np.stack([(ranks == k).sum(axis=1) for k in range(1, places + 1)], axis=1)
    return {"cases": int(cases.sum()),
            "places": {str(pk): {str(k + 1): int(c) for k, c in enumerate(line) if c}
                       for pk, line in zip(ids, counts, strict=True)}}


def _compare(truth: Truth, predictions: list[Predictions], ids: list[int], options: dict) -> dict:
    """``family`` ("all_pairs" or "adjacent") and its ``family_size``, the test, the map's
    ``entries`` (the board's first MAP_ENTRIES, in rank order on the column) with ``pairs``
    (every pair among them), and the ``adjacent`` pairs (board order) the tie marks read.

    Only these are stored: with 200 entries all 19,900 pairs would be 4 MB of JSON that every
    request of the leaderboard reads, for no page."""
    names = [str(i) for i in ids]
    if len(ids) <= MAX_ALL_PAIRS:
        comparison = compare_entries(truth, predictions, names, **options)
        by_names = {frozenset((pair.a, pair.b)): pair for pair in comparison.pairs}
        adjacent = [_pair(by_names[frozenset(pair)]) for pair in zip(names, names[1:],
                                                                         strict=False)]
        return {"family": "all_pairs", "family_size": len(comparison.pairs),
                **_stored(comparison, set(names[:MAP_ENTRIES])), "adjacent": adjacent}
    # The field in windows of MAP_ENTRIES consecutive entries overlapping by one, so every
    # adjacent pair is in a window; the first window is the map. A pair's difference, interval
    # and raw p depend on its two entries only (the resamples are the same in every call);
    # only Holm's correction depends on the family, and the family of the marks is the S - 1
    # adjacent pairs. One call per pair would cost ~0.5 s each (resample weights and
    # statsmodels' garbage collection), windows ~0.6 s per MAP_ENTRIES - 1 pairs.
    windows = [
        compare_entries(truth, predictions[start:start + MAP_ENTRIES],
                        names[start:start + MAP_ENTRIES], **options)
        for start in range(0, len(ids) - 1, MAP_ENTRIES - 1)
    ]
    in_windows = {frozenset((pair.a, pair.b)): pair for window in windows
                  for pair in window.pairs}
    pairs = [in_windows[frozenset(pair)] for pair in zip(names, names[1:], strict=False)]
    p_holm, significant = holm([pair.p_value for pair in pairs], options["alpha"])
    return {
        "family": "adjacent", "family_size": len(pairs),
        **_stored(windows[0], set(names[:MAP_ENTRIES])),
        "adjacent": [
            {**_pair(pair), "p_holm": p, "significant": s}
            for pair, p, s in zip(pairs, p_holm, significant, strict=True)
        ],
    }


def _stored(comparison: Comparison, shown: set[str]) -> dict:
    return {
        "test": comparison.pairs[0].test if comparison.pairs else "",
        "entries": [int(name) for name in comparison.entries if name in shown],
        "pairs": [_pair(pair) for pair in comparison.pairs if {pair.a, pair.b} <= shown],
    }


def _pair(pair: PairComparison) -> dict:
    return {**pair.to_dict(), "a": int(pair.a), "b": int(pair.b)}


def _adjacent_ties(ids: list[int], stored: dict) -> dict[tuple[int, int], bool | None]:
    """``(above, below) -> tied`` for consecutive rows: not significantly different where the
    difference is defined (identical predictions included), None where it is not."""
    return {
        (above, below): None if pair["difference"] is None else not pair["significant"]
        for above, below, pair in zip(ids, ids[1:], stored["adjacent"], strict=False)
    }
