"""Computing a phase's leaderboards: which submission of each team counts, its column values and
ranks, stored as a snapshot the page, the API and the exports read.

The scoring queue's worker computes a snapshot after every scored submission (and when a team
picks its counting submission or an organiser changes a leaderboard); a request reads one row
however many teams there are. The rank intervals and paired tests follow on the field queue
(``worker.analyses``). Values, intervals and small-group flags come from each submission's stored
result, so the leaderboard and the submission page never disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from competitions.boards import leaderboard_columns, ranked_column_specs
from competitions.columns import Column, column_value, group_cells
from competitions.models import Leaderboard, LeaderboardSnapshot, Phase
from competitions.worker.counting import counting_submissions
from competitions.worker.dispatch import (
    analyses_enqueue,
    leaderboards_refresh_send,
    similarity_enqueue,
)
from competitions.worker.levelling import field_levelling
from competitions.worker.raters import snapshot_raters
from competitions.worker.robustness import case_ranking, panel_case_values
from scoring.ranking import kendall_tau_b, rank_entries
from scoring.sensitivity import SensitivityPanel, sensitivity_panel


@dataclass(frozen=True)
class RankedField:
    rows: list[dict]
    summary: dict
    groups: dict


def rank_field(board: Leaderboard, split: str) -> RankedField:
    """Rank the counting submissions on ``split``: rows with every column's value and interval,
    the what-if winners and column correlations, and every column metric's subgroup values."""
    counted = counting_submissions(board, split)
    shown = leaderboard_columns(board)
    specs = ranked_column_specs(board)
    rows = []
    for item in counted:
        values = {spec.id: column_value(item.result, spec) for _column, spec in shown}
        for spec in specs:
            values.setdefault(spec.id, column_value(item.result, spec))
        rows.append({"submission": item.submission_id, "team": item.team_id,
                     "submitted_at": item.created_at.isoformat(), "values": values,
                     "rank": None, "score": None})
    levelling = field_levelling(board, split, counted, rows)  # row["levelling"]: the flags
    metrics = dict.fromkeys(spec.metric for spec in [*specs, *(s for _c, s in shown)])
    groups = {
        metric: {str(item.submission_id): group_cells(item.result, metric) for item in counted}
        for metric in metrics
    }
    summary: dict = {}
    if rows and specs:
        matrix = np.array(
            [[_number(row["values"][spec.id]["value"]) for spec in specs] for row in rows],
            dtype=float,
        )
        directions = [s.higher_is_better for s in specs]
        ids = [row["submission"] for row in rows]
        if board.ranking == Leaderboard.Ranking.RANK_THEN_AGGREGATE:
            # Ranks per case exist only in the per-case results, not in any stored summary.
            by_case = case_ranking(board, split, ids)
            ranked = {entry.name: (entry.rank, entry.score) for entry in by_case.entries}
            for row in rows:
                row["rank"], row["score"] = ranked[str(row["submission"])]
        else:
            ranking = rank_entries(board.ranking, matrix, directions, meets=levelling.meets)
            for row, rank, score in zip(rows, ranking.rank, ranking.score, strict=True):
                row["rank"] = int(rank)
                row["score"] = None if math.isnan(score) else float(score)
        panel = sensitivity_panel(
            matrix, directions, [s.id for s in specs], rule=board.ranking,
            rank=[row["rank"] for row in rows], case_values=panel_case_values(board, split, ids),
            meets=levelling.meets,
        )
        summary = _what_if_and_correlation(rows, specs, matrix, panel)
        # A ranked column on a withheld group (the admin refuses one; min_group_size may have
        # been raised since): the order, score and ranks would reveal it, so they are
        # marked for the release step, which withholds them from participants (and the panel
        # and the pairwise comparison with them).
        hidden = [spec.id for spec in specs
                  if any(_withheld(row["values"][spec.id]) for row in rows)]
        summary["suppressed_columns"] = hidden
        for item in summary["what_if"]:
            item["suppressed"] = item["column"] in hidden
        for row in rows:
            row["suppressed"] = bool(hidden)
        rows.sort(key=lambda row: (row["rank"], row["submitted_at"]))
        raters = snapshot_raters(board, split, ids)
        if raters is not None:
            summary["raters"] = raters
    if levelling.summary is not None:
        summary["levelling"] = levelling.summary
    return RankedField(rows=rows, summary=summary, groups=groups)


def _withheld(cell: dict) -> bool:
    """Whether a column's cell is on a group participants may not see."""
    return bool(cell.get("small") or cell.get("suppressed"))


def _what_if_and_correlation(
    rows: list[dict], specs: list[Column], matrix: np.ndarray, panel: SensitivityPanel
) -> dict:
    """Who wins when ranked by each ranked column alone, Kendall's tau-b between the columns'
    rankings (how much the choice of column matters), and the sensitivity panel: the ranking
    under the other rules, each column alone and the median over cases, against the official
    one. Entries are named by team id."""
    alone = [variant for variant in panel.variants if variant.kind == "column"]
    what_if = [
        {"column": variant.column, "winners": [rows[i]["team"] for i in variant.winners]}
        for variant in alone
    ]
    correlation = [
        [kendall_tau_b(a.rank, b.rank) for b in alone]
        for a in alone
    ]
    return {"what_if": what_if, "columns": [s.id for s in specs], "correlation": correlation,
            "panel": panel.to_dict([str(row["team"]) for row in rows])}


def snapshot_compute(board: Leaderboard, split: str) -> LeaderboardSnapshot:
    """Rank the counting submissions on ``split`` and store the snapshot (one per board and split).

    Holds a lock on the board while it reads and writes, so two workers refreshing at once
    cannot store an older field over a newer one. ``computed_at`` is taken before the field is
    read: every change committed before it is in the snapshot (``leaderboards_fresh_since``).
    """
    with transaction.atomic():
        board = Leaderboard.objects.select_for_update().select_related("phase__challenge").get(
            pk=board.pk
        )
        # Read before the field: every request counted here committed with its data, so the
        # ranking below includes it (see phase_leaderboards_refresh).
        version = Phase.objects.values_list("leaderboard_version", flat=True).get(
            pk=board.phase_id
        )
        field = rank_field(board, split)
        now = timezone.now()
        # A new ranking: its analyses (field queue) start over; the refresh asks for them.
        snapshot, _created = LeaderboardSnapshot.objects.update_or_create(
            leaderboard=board, split=split,
            defaults={"rows": field.rows, "summary": field.summary, "groups": field.groups,
                      "computed_at": now, "version": version, "robustness": None,
                      "robustness_note": "", "analysis": LeaderboardSnapshot.Analysis.PENDING,
                      "analysis_requested_at": now, "analysis_started_at": None,
                      "analysed_at": None},
        )
    return snapshot


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


def phase_leaderboards_refresh(
    phase: Phase, *, version: int | None = None
) -> list[LeaderboardSnapshot]:
    """Recompute every leaderboard of the phase on every split that has cases.

    ``version`` is the phase's ``leaderboard_version`` the request was made at: when every
    snapshot was already computed at that version or later, a refresh that ran meanwhile saw
    the request's data, and this one does nothing. Under a burst of submissions a busy worker
    thus ranks once for many of them, not once each.
    """
    splits = ["public"] + (["private"] if phase.has_private_cases else [])
    pairs = [(board, split) for board in phase.leaderboards.all() for split in splits]
    if version is not None:
        versions = list(
            LeaderboardSnapshot.objects.filter(leaderboard__phase=phase, split__in=splits)
            .values_list("version", flat=True)
        )
        if len(versions) == len(pairs) and min(versions) >= version:
            return []
    snapshots = [snapshot_compute(board, split) for board, split in pairs]
    # The similarity of the field reads the primary board's snapshot, and the analyses (rank
    # intervals, paired tests) the snapshots themselves: both are asked for on the field queue
    # once they are stored, so neither works on an older field and no scoring waits for them.
    if snapshots:
        similarity_enqueue(phase)
        analyses_enqueue(phase)
    return snapshots


def stale_leaderboard_phases():
    """Phases asked to be re-ranked whose snapshots never caught up: the request was lost (the
    broker was down) or its task died. The sweeper asks again for these."""
    return Phase.objects.filter(
        Q(leaderboards__snapshots__version__lt=F("leaderboard_version"))
        | Q(leaderboard_version__gt=0, leaderboards__snapshots__isnull=True)
    ).distinct()


def stale_phases_refresh() -> int:
    """Send a refresh for every stale phase (see ``stale_leaderboard_phases``); a duplicate of
    a refresh already queued costs one query, as the first to run covers the other."""
    stale = list(stale_leaderboard_phases().values_list("pk", "leaderboard_version"))
    return sum(leaderboards_refresh_send(pk, version) for pk, version in stale)
