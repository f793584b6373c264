"""Computing a phase's leaderboards: which submission of each team counts, its column values and
ranks, stored as a snapshot the page, the API and the exports read.

The worker computes a snapshot after every scored submission (and when a team picks its counting
submission or an organiser changes a leaderboard); a request reads one row however many teams
there are. Values, intervals and small-group flags come from each submission's stored result, so
the leaderboard and the submission page never disagree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from competitions.broker import send_quietly
from competitions.case_results import phase_truth
from competitions.columns import Column, column_value, group_cells, parse_column
from competitions.models import (
    Leaderboard,
    LeaderboardColumn,
    LeaderboardSnapshot,
    Phase,
    Submission,
)
from competitions.robustness import case_ranking, snapshot_robustness
from scoring.ranking import kendall_tau_b, rank_columns, rank_entries
from scoring.registry import metrics_for
from scoring.weighted_stats import PER_CASE_METRICS

# Shown, not ranked, beside the primary metric on a phase's default leaderboard.
DEFAULT_EXTRA_COLUMNS = ("accuracy", "auroc", "sensitivity", "specificity")


def ensure_default_leaderboard(phase: Phase) -> Leaderboard:
    """The phase's primary leaderboard, created on the primary metric if the phase has none."""
    existing = phase.leaderboards.filter(is_primary=True).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        board = Leaderboard.objects.create(
            phase=phase, slug="main", name="Leaderboard", is_primary=True,
            ranking=Leaderboard.Ranking.PRIMARY,
        )
        available = {m.id for m in metrics_for(phase.challenge.task)}
        ids = [phase.primary_metric] + [
            m for m in DEFAULT_EXTRA_COLUMNS if m != phase.primary_metric and m in available
        ]
        LeaderboardColumn.objects.bulk_create(
            LeaderboardColumn(leaderboard=board, column_id=column_id, ranked=position == 0,
                              order=position)
            for position, column_id in enumerate(ids)
        )
    return board


def phase_saved(sender, instance: Phase, created: bool, raw: bool = False, **kwargs) -> None:
    """Every new phase gets its primary leaderboard, whichever way it was made (admin, seed)."""
    if created and not raw:
        ensure_default_leaderboard(instance)


def leaderboard_columns(board: Leaderboard) -> list[tuple[LeaderboardColumn, Column]]:
    """The board's columns, parsed (each was validated when the organiser saved it)."""
    task = board.phase.challenge.task
    return [(column, parse_column(column.column_id, task)) for column in board.columns.all()]


def ranked_column_specs(board: Leaderboard) -> list[Column]:
    """The columns the rule ranks on; for ``worst_group``, the first ranked metric on the worst
    group of ``worst_group_on``."""
    specs = [spec for column, spec in leaderboard_columns(board) if column.ranked]
    if board.ranking == Leaderboard.Ranking.WORST_GROUP and specs:
        first = specs[0]
        return [parse_column(f"{first.metric}@worst({board.worst_group_on})",
                             board.phase.challenge.task)]
    return specs


def leaderboard_validate(
    board: Leaderboard, column_ids: Iterable[str], ranked: Iterable[str]
) -> None:
    """Refuse a configuration the ranking cannot use, with every problem at once."""
    phase = board.phase
    attributes = phase.truth_attributes or None
    problems: list[str] = []
    for column_id in column_ids:
        try:
            parse_column(column_id, phase.challenge.task, attributes)
        except ValidationError as exc:
            problems += exc.messages
    ranked = list(ranked)
    if not ranked:
        problems.append("Mark at least one column as ranked.")
    if board.ranking in ("primary", "worst_group") and len(ranked) > 1:
        problems.append(f"The {board.ranking} rule ranks on one column; mark only one as ranked.")
    if board.ranking == "worst_group":
        if not board.worst_group_on:
            problems.append("Name the attribute whose worst group ranks.")
        elif attributes is not None and board.worst_group_on not in attributes:
            problems.append(f"The ground truth has no attribute “{board.worst_group_on}”.")
    if board.ranking == "rank_then_aggregate":
        specs = [parse_column(c, phase.challenge.task) for c in ranked] if not problems else []
        if phase.challenge.task != "binary":
            problems.append("Rank-then-aggregate is available for binary tasks only, so far.")
        elif len(specs) != 1 or specs[0].metric not in PER_CASE_METRICS or specs[0].worst:
            problems.append(
                "Rank-then-aggregate ranks one per-case metric ("
                + ", ".join(PER_CASE_METRICS)
                + ") on all cases or one group; mark exactly one such column as ranked."
            )
    if problems:
        raise ValidationError(problems)


@dataclass(frozen=True)
class Counted:
    submission_id: int
    team_id: int
    created_at: object
    result: dict | None


def counting_submissions(board: Leaderboard, split: str) -> list[Counted]:
    """One submission per team with a scored one: its best on the first ranked column (earliest
    wins a tie), its latest, or the one it picked (its best if it picked none)."""
    scored = (
        Submission.objects.filter(phase_id=board.phase_id, status=Submission.Status.SCORED)
        .annotate(split_result=F(f"result__{split}"))
        .order_by("created_at", "pk")
        .values_list("pk", "team_id", "created_at", "selected", "split_result")
    )
    specs = ranked_column_specs(board)
    first = specs[0] if specs else None
    best: dict[int, tuple[float | None, Counted]] = {}
    latest: dict[int, Counted] = {}
    chosen: dict[int, Counted] = {}
    for pk, team_id, created_at, selected, result in scored:
        item = Counted(pk, team_id, created_at, result)
        latest[team_id] = item
        if selected:
            chosen[team_id] = item
        value = column_value(result, first)["value"] if first else None
        incumbent = best.get(team_id)
        if incumbent is None or _better(value, incumbent[0], first):
            best[team_id] = (value, item)
    if board.counting == Leaderboard.Counting.LATEST:
        return list(latest.values())
    picked = {team: item for team, (_value, item) in best.items()}
    if board.counting == Leaderboard.Counting.CHOSEN:
        picked.update(chosen)
    return list(picked.values())


def _better(value: float | None, incumbent: float | None, column: Column | None) -> bool:
    if value is None or column is None:
        return False
    if incumbent is None:
        return True
    return value > incumbent if column.higher_is_better else value < incumbent


@dataclass(frozen=True)
class RankedField:
    rows: list[dict]
    summary: dict
    groups: dict


def ranked_rows(board: Leaderboard, split: str) -> list[dict]:
    """The board's rows on ``split``, best first (see ``LeaderboardSnapshot.rows``)."""
    return rank_field(board, split).rows


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
        if board.ranking == Leaderboard.Ranking.RANK_THEN_AGGREGATE:
            # Ranks per case exist only in the per-case results, not in any stored summary.
            by_case = case_ranking(board, split, [row["submission"] for row in rows])
            ranked = {entry.name: (entry.rank, entry.score) for entry in by_case.entries}
            for row in rows:
                row["rank"], row["score"] = ranked[str(row["submission"])]
        else:
            ranking = rank_entries(board.ranking, matrix, directions)
            for row, rank, score in zip(rows, ranking.rank, ranking.score, strict=True):
                row["rank"] = int(rank)
                row["score"] = None if math.isnan(score) else float(score)
        summary = _what_if_and_correlation(rows, specs, matrix)
        rows.sort(key=lambda row: (row["rank"], row["submitted_at"]))
    return RankedField(rows=rows, summary=summary, groups=groups)


def _what_if_and_correlation(rows: list[dict], specs: list[Column], matrix: np.ndarray) -> dict:
    """Who wins when ranked by each ranked column alone, and Kendall's tau-b between the
    columns' rankings (how much the choice of column matters)."""
    ranks = rank_columns(matrix, [s.higher_is_better for s in specs])
    what_if = [
        {"column": spec.id,
         "winners": [rows[i]["team"]
                     for i in np.flatnonzero((ranks[:, j] == 1) & ~np.isnan(matrix[:, j]))]}
        for j, spec in enumerate(specs)
    ]
    correlation = [
        [kendall_tau_b(ranks[:, i], ranks[:, j]) for j in range(len(specs))]
        for i in range(len(specs))
    ]
    return {"what_if": what_if, "columns": [s.id for s in specs], "correlation": correlation}


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
        snapshot, _created = LeaderboardSnapshot.objects.update_or_create(
            leaderboard=board, split=split,
            defaults={"rows": field.rows, "summary": field.summary, "groups": field.groups,
                      "computed_at": timezone.now(), "version": version, "robustness": None,
                      "robustness_note": ""},
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
    thus ranks (and bootstraps) once for many of them, not once each.
    """
    ensure_default_leaderboard(phase)
    splits = ["public"] + (["private"] if phase.has_private_cases else [])
    pairs = [(board, split) for board in phase.leaderboards.all() for split in splits]
    if version is not None:
        versions = list(
            LeaderboardSnapshot.objects.filter(leaderboard__phase=phase, split__in=splits)
            .values_list("version", flat=True)
        )
        if len(versions) == len(pairs) and min(versions) >= version:
            return []
    # Every ranking first, so pages show the new field at once; the intervals follow.
    snapshots = [snapshot_compute(board, split) for board, split in pairs]
    # One parse of the ground truth for every board and split, not one each.
    truth = phase_truth(phase) if phase.ground_truth and len(pairs) > 0 else None
    for board, split in pairs:
        snapshot_robustness(board, split, truth)
    return snapshots


def leaderboards_refresh_enqueue(phase: Phase) -> None:
    """Ask the worker to re-rank the phase once the current transaction commits.

    The request is counted on the phase row in the caller's transaction, so it commits together
    with the change that prompted it (a scored submission, a team's pick, a new board).
    """
    from competitions.tasks import refresh_phase_leaderboards

    pk = phase.pk
    with transaction.atomic():
        Phase.objects.filter(pk=pk).update(leaderboard_version=F("leaderboard_version") + 1)
        version = Phase.objects.values_list("leaderboard_version", flat=True).get(pk=pk)
    transaction.on_commit(lambda: send_quietly(refresh_phase_leaderboards, pk, version))


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
    from competitions.tasks import refresh_phase_leaderboards

    stale = list(stale_leaderboard_phases().values_list("pk", "leaderboard_version"))
    return sum(send_quietly(refresh_phase_leaderboards, pk, version) for pk, version in stale)
