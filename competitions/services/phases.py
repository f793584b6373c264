"""Actions on phases: creating one with its leaderboard, its ground truth, publishing scores,
rescoring and recomputing what the worker derives.

Each action writes in one transaction; work for the worker is sent through
``worker.dispatch`` once it commits.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable

import pandas as pd
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cheetah.safe_csv import FORMULA_STARTS
from competitions.models import Leaderboard, LeaderboardColumn, Phase, Submission, SubmissionEvent
from competitions.services.levelling import levelling_settings_changed
from competitions.splits import split_mask
from competitions.transitions import submission_transition
from competitions.worker.dispatch import (
    leaderboards_refresh_enqueue,
    similarity_enqueue,
    submission_enqueue,
)
from scoring.describe import describe
from scoring.errors import InputError
from scoring.io import Truth, read_truth
from scoring.power import POWER, truth_power
from scoring.raters import agreement, human_ceiling
from scoring.registry import default_metric, metrics_for
from scoring.splits import seeded_split
from scoring.vocabulary import SPLITS

# The significance level of the design-time power analysis (two-sided).
ALPHA = 0.05

# Shown, not ranked, beside the primary metric on a phase's default leaderboard.
DEFAULT_EXTRA_COLUMNS = ("accuracy", "auroc", "sensitivity", "specificity")
# Settings the ground truth's report depends on: changing one recomputes it.
_REPORT_SETTINGS = frozenset({"intersections", "min_group_size", "power_baseline",
                              "power_difference", "threshold", "rater_tie_rule"})


def phase_create(**fields) -> Phase:
    """A new phase with its primary leaderboard (ranked on ``primary_metric``, by default the
    task's default metric), in one go."""
    with transaction.atomic():
        phase = Phase(**fields)
        if "primary_metric" not in fields:
            phase.primary_metric = default_metric(phase.challenge.task)
        phase.save(force_insert=True)
        phase_default_leaderboard(phase)
    return phase


def phase_save(
    *, phase: Phase, created: bool, upload: File | None = None, changed: Iterable[str] = ()
) -> Phase:
    """Save a phase as the organiser edited it: a new one gets its leaderboard, an uploaded
    ground truth is checked and stored, and what depends on changed settings follows —
    all in one transaction, so a refused ground truth leaves the phase as it was."""
    changed = set(changed)
    with transaction.atomic():
        phase.save()
        if created:
            phase_default_leaderboard(phase)
        if upload:
            truth_upload(phase=phase, upload=upload)
        elif phase.ground_truth and (
            _REPORT_SETTINGS & changed or _power_missing(phase)
        ):
            phase_truth_report_refresh(phase=phase)
        if not created and {"similarity_flag_threshold", "ensemble_size"} & changed:
            # Flags and ensembles follow the new settings; the matrices are reused as they are.
            similarity_enqueue(phase)
        if not created and "release_policy" in changed:
            # Under the ladder the public boards count released submissions only.
            leaderboards_refresh_enqueue(phase)
        if not created:
            levelling_settings_changed(phase=phase, changed=changed,
                                       truth_uploaded=bool(upload))
    return phase


def phase_default_leaderboard(phase: Phase) -> Leaderboard:
    """The phase's primary leaderboard, created on ``Phase.primary_metric`` if it has none (the
    only thing that field still decides) and named after the phase, as its page shows it."""
    existing = phase.leaderboards.filter(is_primary=True).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        board = Leaderboard.objects.create(
            phase=phase, slug="main", name=phase.name, is_primary=True,
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


def phase_scores_publish(*, phases) -> int:
    """Show the scores of phases that hide them until published; returns how many changed."""
    with transaction.atomic():
        return phases.filter(scores_published_at__isnull=True).update(
            scores_published_at=timezone.now()
        )


def phase_leaderboards_recompute(*, phase: Phase) -> None:
    """Have the worker rank every board of the phase again (e.g. after a board changed)."""
    leaderboards_refresh_enqueue(phase)


def phase_similarity_recompute(*, phase: Phase) -> None:
    """Have the worker recompute the field's similarity and ensembles in full."""
    similarity_enqueue(phase, full=True)


def phase_rescore(*, phase: Phase) -> int:
    """Queue every scored submission of a phase for scoring again.

    For when the ground truth or the configuration changed; returns how many were queued. Failed
    submissions stay failed: reviving them would take quota slots their teams have reused.
    """
    now = timezone.now()
    with transaction.atomic():
        submissions = list(
            Submission.objects.select_for_update().filter(
                phase=phase, status=Submission.Status.SCORED
            )
        )
        for submission in submissions:
            submission_transition(
                submission, SubmissionEvent.Kind.REQUEUED, at=now,
                detail=_("Rescoring requested by the organisers."), deliveries=0, message="",
            )
            submission_enqueue(submission)
        # An uploaded reference entry is scored again with them (worker.levelling).
        Phase.objects.filter(pk=phase.pk).update(reference_result=None)
    return len(submissions)


# --- Ground truth ---------------------------------------------------------------------------


def truth_upload(*, phase: Phase, upload: File) -> Phase:
    """Check a ground-truth CSV, store it privately, and derive what participants download.

    Participants get the list of case ids and a sample submission (ids with a constant score):
    no labels, no attributes, no split.
    """
    upload.seek(0)
    try:
        truth = read_truth(upload, task=phase.challenge.task)
    except InputError as exc:
        raise ValidationError(exc.problems) from exc
    problem = truth_case_id_problem(truth)
    if problem:
        raise ValidationError(problem)
    if truth.split is None and phase.private_share > 0:
        upload = _with_seeded_split(upload, truth, phase)
        truth = read_truth(upload, task=phase.challenge.task)
    report = _truth_report(phase, truth)
    upload.seek(0)
    cases = io.StringIO()
    sample = io.StringIO()
    case_writer, sample_writer = csv.writer(cases), csv.writer(sample)
    case_writer.writerow(["case_id"])
    sample_writer.writerow(_sample_header(phase.challenge.task))
    sample_row = _sample_row(phase.challenge.task)
    for case_id in truth.case_ids:
        case_writer.writerow([case_id])
        sample_writer.writerow([case_id, *sample_row])
    with transaction.atomic():
        phase.ground_truth.save("truth.csv", upload, save=False)
        phase.case_list.save("cases.csv", ContentFile(cases.getvalue().encode()), save=False)
        phase.sample_submission.save(
            "sample_submission.csv", ContentFile(sample.getvalue().encode()), save=False
        )
        phase.truth_n_cases = int(truth.n)
        phase.truth_attributes = sorted(truth.attributes)
        phase.truth_uploaded_at = timezone.now()
        phase.truth_report = report
        phase.save()
    return phase


def truth_case_id_problem(truth) -> str | None:
    """Why the ground truth's case ids cannot be served, or None. Participants download the case
    list and the sample submission, which must keep the ids as they are (the uploads match
    them), so an id a spreadsheet would run as a formula cannot be neutralised there."""
    formula_like = [str(c) for c in truth.case_ids if str(c).startswith(FORMULA_STARTS)]
    if not formula_like:
        return None
    return _(
        "%(n)d case ids begin with =, +, -, @, a tab, a carriage return or NUL (first: "
        "%(first)s): a spreadsheet would run them as formulas when a participant opens the "
        "case list. Give the cases ids that begin with a letter or a digit."
    ) % {"n": len(formula_like), "first": formula_like[0][:40]}


def _with_seeded_split(upload: File, truth, phase: Phase) -> ContentFile:
    """The uploaded CSV with a ``split`` column the phase's share and seed decide, so that every
    later reader (scoring, similarity, reports) sees the split as if the organiser had given it."""
    upload.seek(0)
    raw = upload.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame["split"] = seeded_split(truth.labels, phase.private_share, phase.split_seed)
    return ContentFile(frame.to_csv(index=False).encode(), name="truth.csv")


def phase_truth_report_refresh(*, phase: Phase) -> Phase:
    """Recompute the evaluation-data report after the subgroup settings changed."""
    with phase.ground_truth.open("rb") as handle:
        truth = read_truth(handle, task=phase.challenge.task)
    phase.truth_report = _truth_report(phase, truth)
    phase.save(update_fields=["truth_report"])
    return phase


def _truth_report(phase: Phase, truth: Truth) -> dict:
    """The scoring core's description of the evaluation data under the phase's settings and,
    for a binary task, the power of each split's groups (``power``, see ``_split_power``)."""
    try:
        report = describe(
            truth, intersections=phase.intersection_pairs, min_group=phase.min_group_size
        )
        if truth.task == "binary":
            report["power"] = _split_power(phase, truth)
        if truth.raters:
            report["raters"] = _raters_report(phase, truth)
    except (InputError, ValueError) as exc:  # intersections naming unknown attributes
        problems = exc.problems if isinstance(exc, InputError) else [str(exc)]
        raise ValidationError(problems) from exc
    return report


def _raters_report(phase: Phase, truth: Truth) -> dict:
    """The ground truth's rater columns and, with two or more, their agreement on all cases
    (organisers only: the admin's ground-truth page) and per split the human ceiling on every
    built-in metric (``scoring.raters.human_ceiling``), computed here once rather than at every
    leaderboard refresh: it depends on the ground truth, the threshold and the tie rule only.
    Released, per board and split, by ``competitions.selectors.raters``."""
    if len(truth.raters) < 2:
        return {"columns": list(truth.raters), "agreement": None, "ceiling": {}}
    metrics = [m.id for m in metrics_for(truth.task) if m.scorer is None]
    ceiling = {}
    for split in SPLITS:
        mask = split_mask(truth, split)
        if mask is not None and mask.any():
            ceiling[split] = human_ceiling(truth, metrics=metrics, threshold=phase.threshold,
                                           tie_rule=phase.rater_tie_rule, cases=mask)
    return {"columns": list(truth.raters), "agreement": agreement(truth).to_dict(),
            "ceiling": ceiling}


def _split_power(phase: Phase, truth: Truth) -> dict:
    """``scoring.power.truth_power`` of the cases of each split a leaderboard ranks on (the
    public cases while the phase runs, the private ones at the end), at the phase's baseline
    and difference: ``{"baseline", "difference", "alpha", "power", "splits": {split: report}}``.
    """
    splits = {}
    for split in SPLITS:
        mask = split_mask(truth, split)
        if mask is not None and mask.any():
            splits[split] = truth_power(
                truth.subset(mask), intersections=phase.intersection_pairs,
                baseline=phase.power_baseline, difference=phase.power_difference, alpha=ALPHA,
            )
    return {"baseline": phase.power_baseline, "difference": phase.power_difference,
            "alpha": ALPHA, "power": POWER, "splits": splits}


def _power_missing(phase: Phase) -> bool:
    """Whether a binary phase's report predates the power analysis (computed on next save)."""
    report = phase.truth_report or {}
    return report.get("task") == "binary" and "power" not in report


def _sample_header(task: str) -> list[str]:
    return {"binary": ["case_id", "score"], "regression": ["case_id", "value"]}.get(
        task, ["case_id", "label"]
    )


def _sample_row(task: str) -> list[str]:
    return {"binary": ["0.5"], "regression": ["0"]}.get(task, [""])
