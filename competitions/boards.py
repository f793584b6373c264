"""A leaderboard's configuration as the ranking reads it: its columns, the columns its rule
ranks on, and whether a configuration can be ranked at all.

Read by the worker (ranking), the selectors (pages) and the admin (validation), so it lives
beside the models and imports neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from competitions.case_results import phase_truth
from competitions.columns import Column, parse_column
from competitions.models import Leaderboard, LeaderboardColumn, Phase
from competitions.splits import split_mask
from scoring.groups import group_sizes
from scoring.suppression import sized_groups, suppressed_groups
from scoring.vocabulary import SPLITS
from scoring.weighted_stats import PER_CASE_METRICS


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
    column_ids = list(column_ids)
    attributes = phase.truth_attributes or None
    problems: list[str] = []
    for column_id in column_ids:
        try:
            parse_column(column_id, phase.challenge.task, attributes)
        except ValidationError as exc:
            problems += exc.messages
    if not problems:
        problems += _unknown_groups(phase, [parse_column(c, phase.challenge.task)
                                            for c in column_ids])
    ranked = list(ranked)
    if not ranked:
        problems.append("Mark at least one column as ranked.")
    if board.ranking == "floor_then_primary" and not phase.floors:
        problems.append("The floor-then-primary rule puts the entries that meet every floor "
                        "first: set the phase's floors (per metric) first.")
    if board.ranking in ("primary", "worst_group", "floor_then_primary") and len(ranked) > 1:
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
    if not problems:
        problems += _ranked_on_withheld_groups(
            phase, [parse_column(c, phase.challenge.task) for c in ranked]
        )
    if problems:
        raise ValidationError(problems)


@dataclass(frozen=True)
class Withheld:
    """Where a group is first withheld from participants: its size in that split, and whether
    it is small itself (else it is hidden with a small one)."""

    split: str
    n: int
    small: bool


def truth_groups(phase: Phase) -> dict[str, list[tuple[str, int]]]:
    """``{attribute: [(group, cases), ...]}`` of the phase's ground truth, from its
    evaluation-data report (intersections included; empty without a ground truth)."""
    return {
        item["attribute"]: [(str(g["group"]), int(g["n"])) for g in item["groups"]]
        for item in (phase.truth_report or {}).get("attributes", [])
    }


def withheld_groups(phase: Phase) -> dict[tuple[str, str], Withheld]:
    """Every ``(attribute, group)`` whose values participants may not see in some split (small,
    or hidden with a small one, ``scoring.suppression``), at the first split where it is: a
    board may show such a group but not rank on it. Reads the ground truth (none: empty)."""
    if not phase.ground_truth:
        return {}
    truth = phase_truth(phase)
    found: dict[tuple[str, str], Withheld] = {}
    for split in SPLITS:
        mask = split_mask(truth, split)
        if mask is None or not mask.any():
            continue
        sized = sized_groups(group_sizes(truth, phase.intersection_pairs, mask),
                             phase.min_group_size)
        hidden = suppressed_groups(sized)
        for group in sized:
            key = (group.attribute, group.group)
            if key in hidden and key not in found:
                found[key] = Withheld(split=split, n=group.n, small=group.small)
    return found


def _unknown_groups(phase: Phase, columns: list[Column]) -> list[str]:
    """A column on a group the ground truth does not have would show "—" to everyone: one
    problem per such column, naming the groups there are (from the evaluation-data report)."""
    known = {attribute: [group for group, _n in groups]
             for attribute, groups in truth_groups(phase).items()}
    problems = []
    for spec in columns:
        groups = known.get(spec.attribute or "")
        if spec.worst or groups is None or spec.group in groups:
            continue
        problems.append(
            f"“{spec.id}”: the ground truth has no group “{spec.group}” in {spec.attribute} "
            f"(its groups: {', '.join(sorted(map(str, groups)))})."
        )
    return problems


def _ranked_on_withheld_groups(phase: Phase, ranked: list[Column]) -> list[str]:
    """A ranked column on a group whose values participants may not see (small, or hidden with
    a small one) would give it away through ranks and scores: one problem per such column,
    naming the group and its size in the first split where it is withheld."""
    on_groups = [spec for spec in ranked if spec.attribute is not None and not spec.worst]
    if not on_groups:
        return []
    withheld = withheld_groups(phase)
    problems: dict[str, str] = {}
    for spec in on_groups:
        found = withheld.get((spec.attribute, spec.group))
        if spec.id in problems or found is None:
            continue
        group, least = f"{spec.attribute}={spec.group}", phase.min_group_size
        why = (
            f"which has {found.n} cases in the {found.split} split, fewer than the phase's "
            f"minimum group size ({least})"
            if found.small else
            f"({found.n} cases in the {found.split} split), hidden with a group of "
            f"{spec.attribute} under the phase's minimum group size ({least}) so that it "
            "cannot be worked out from the others"
        )
        problems[spec.id] = (
            f"“{spec.id}” ranks on {group}, {why}: its values are withheld from "
            "participants, and ranks and scores on it would reveal them. Rank on another "
            "column, or show this one without ranking it."
        )
    return list(problems.values())
