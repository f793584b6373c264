"""The release decision for a scored submission under its phase's release policy.

``full`` releases every submission. ``ladder`` (``scoring.ladder``) releases a person's first
submission unless it is flagged as a probe, and a later one only when it beats the person's best
released submission significantly on the primary board's first ranked column over the public
cases. The ladder's state is the person's, across teams: a new team, or a team-mate's upload,
starts no new ladder for them.

The decision is taken inside the transaction that records the result, with the author's
participant row locked, so two submissions of one person scored at once by two workers are
decided one after the other, each against what the other left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _

from competitions.boards import ranked_column_specs
from competitions.case_results import CaseArrays, arrays_predictions, phase_case_matrix
from competitions.columns import Column, column_value, parse_column, stored_split
from competitions.models import Leaderboard, Participant, Phase, Submission
from competitions.splits import split_mask
from scoring.errors import InputError
from scoring.field import Field
from scoring.io import Truth
from scoring.ladder import (
    LadderStep,
    column_resamples,
    ladder_resamples,
    ladder_step,
    metric_resamples,
)

# A flagged submission's author is not told which flag (the organisers review flags): the note
# says only that this phase's rules did not release it.
PROBE_NOTE = "not released under this phase's release rules"


@dataclass(frozen=True)
class Decision:
    """What to store on the submission: ``released``, the note its author reads when it is not
    released, and the comparison for the organisers."""

    released: bool
    note: str = ""
    ladder: dict | None = None


def lock_author(submission: Submission) -> None:
    """Serialise the release decisions of one person in a challenge (participant rows first: the
    order every service that moves people takes)."""
    list(
        Participant.objects.select_for_update()
        .filter(challenge_id=submission.phase.challenge_id, user_id=submission.created_by_id)
        .values_list("pk", flat=True)
    )


def ladder_column(phase: Phase) -> Column:
    """The primary board's first ranked column (for ``worst_group``, its worst-group column);
    the phase's primary metric on all cases when no board ranks anything."""
    board = Leaderboard.objects.filter(phase=phase, is_primary=True).first()
    specs = ranked_column_specs(board) if board else []
    return specs[0] if specs else parse_column(phase.primary_metric, phase.challenge.task)


def release_decide(
    submission: Submission, arrays: CaseArrays, truth: Truth, *, flagged: bool, seed: int
) -> Decision:
    """The release decision for ``submission`` just scored (``arrays`` its per-case outputs,
    ``seed`` the one its intervals used: the ladder resamples the cases the same way)."""
    phase = submission.phase
    if phase.release_policy == Phase.ReleasePolicy.FULL:
        return Decision(released=True)
    if flagged:
        return Decision(released=False, note=_(PROBE_NOTE), ladder={"flagged": True})
    column = ladder_column(phase)
    best = _best_released(submission, column)
    if best is None:
        return Decision(released=True, ladder={"first": True, "column": column.id})
    step = _compare(phase, truth, best, arrays, column, seed)
    detail = {"compared_to": best.pk, "column": column.id, **step.to_dict()}
    if step.released:
        return Decision(released=True, ladder=detail)
    note = _("not significantly better than your best (#%(n)d)") % {"n": best.label}
    return Decision(released=False, note=note, ladder=detail)


def _best_released(submission: Submission, column: Column) -> Submission | None:
    """The author's best released submission of the phase on ``column`` (the earliest of equals),
    in whatever team they made it."""
    released = (
        Submission.objects.filter(
            phase_id=submission.phase_id, created_by_id=submission.created_by_id,
            status=Submission.Status.SCORED, released=True,
        )
        .exclude(pk=submission.pk)
        .order_by("created_at", "pk")
    )
    best, best_value = None, None
    for candidate in released:
        value = column_value(stored_split((candidate.result or {}).get("public")), column)["value"]
        if best is None or _better(value, best_value, column.higher_is_better):
            best, best_value = candidate, value
    return best


def _better(value: float | None, incumbent: float | None, higher_is_better: bool) -> bool:
    if value is None:
        return False
    if incumbent is None:
        return True
    return value > incumbent if higher_is_better else value < incumbent


def _compare(
    phase: Phase, truth: Truth, best: Submission, arrays: CaseArrays, column: Column, seed: int
) -> LadderStep:
    stored = phase_case_matrix(phase, [best.pk], truth=truth)
    public = split_mask(truth, "public")
    bootstrap = ladder_resamples(phase.bootstrap_resamples)
    best_decisions = None if stored.decisions is None else stored.decisions[0]
    if truth.task == "binary":
        field = Field(
            names=["best", "new"],
            labels=truth.labels,
            scores=np.vstack([stored.scores[0], arrays.scores]),
            attributes=truth.attributes,
            columns=[column.id],
            ranking="primary",
            threshold=phase.threshold,
            costs=phase.error_costs,
            cases=public,
            min_group_size=phase.min_group_size,
            decisions=np.vstack([best_decisions, arrays.decisions]),
        )
        try:
            point, resampled = column_resamples(field, bootstrap=bootstrap, seed=seed)
        except InputError as exc:
            return LadderStep(False, None, None, bootstrap, " ".join(exc.problems))
    else:
        cases = public.copy()
        if column.attribute is not None and not column.worst:
            cases &= np.asarray(truth.attributes[column.attribute]).astype(str) == column.group
        predictions = [
            arrays_predictions(truth, CaseArrays(scores=stored.scores[0],
                                                 decisions=best_decisions)),
            arrays_predictions(truth, arrays),
        ]
        point, resampled = metric_resamples(
            truth, predictions, metric=column.metric, cases=cases, threshold=phase.threshold,
            costs=phase.error_costs, bootstrap=bootstrap, seed=seed,
        )
    return ladder_step(point, resampled, higher_is_better=column.higher_is_better)


