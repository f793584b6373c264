"""The worker's side of a submission: claim it, score it with the scoring core, record the outcome.

The database row is the source of truth, not the broker. Scoring runs in three steps so the
long computation holds no lock (SQLite would otherwise block every upload while it runs):

1. claim: under a row lock, a queued (or stuck) submission becomes ``scoring`` and its delivery
   counter goes up; the counter value is the claim's token;
2. score: read the ground truth and the predictions, call ``scoring.evaluate``;
3. record: under the row lock again, write the result only if the row still carries our token,
   so a duplicate delivery or a re-queue by the sweeper can never record twice. The per-case
   arrays (``competitions.case_results``) are written to storage before and attached in the same
   transaction; a stale claim deletes its files instead.

Every status change goes through ``competitions.transitions`` (status and its logged event
together); follow-up work (re-rank, similarity, a requeue) is sent through ``worker.dispatch``.

A submission whose scoring started ``SCORING_MAX_DELIVERIES`` times without finishing (its file
keeps killing the worker) is failed with a message instead of being tried forever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import scoring
from competitions.case_results import (
    CaseArrays,
    case_arrays,
    case_results_discard,
    case_results_replace_after_commit,
    case_results_write,
)
from competitions.models import Phase, Submission, SubmissionEvent
from competitions.splits import split_mask
from competitions.transitions import submission_transition
from competitions.worker.dispatch import leaderboards_refresh_enqueue, submission_enqueue
from competitions.worker.ladder import Decision, lock_author, release_decide
from competitions.worker.probes import probe_flags, probe_flags_replace
from competitions.worker.raters import submission_rater_scores
from scoring.errors import InputError
from scoring.evaluate import evaluate
from scoring.io import Predictions, Truth, read_predictions, read_truth
from scoring.registry import metrics_for

logger = logging.getLogger(__name__)

# One fixed seed: the same submission always gets the same intervals (reproducible results).
BOOTSTRAP_SEED = 0

INTERNAL_ERROR_MESSAGE = gettext_lazy(
    "Scoring stopped because of an error on our side, not in your file. "
    "The organisers can see the details and will rescore it."
)


@dataclass(frozen=True)
class Claim:
    submission_id: int
    token: int


def submission_claim(submission_id: int) -> Claim | None:
    """Mark a submission as scoring; ``None`` when there is nothing (left) to do."""
    now = timezone.now()
    with transaction.atomic():
        submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
        if submission is None or submission.status not in (
            Submission.Status.QUEUED,
            Submission.Status.SCORING,
        ):
            return None
        if submission.deliveries >= settings.SCORING_MAX_DELIVERIES:
            _fail_given_up(submission, now)
            return None
        submission_transition(
            submission, SubmissionEvent.Kind.STARTED, at=now,
            detail=_("attempt %(n)d") % {"n": submission.deliveries + 1},
            deliveries=submission.deliveries + 1, started_at=now,
            message="",  # e.g. "the queue is unreachable", true no more
        )
        return Claim(submission_id=submission.pk, token=submission.deliveries)


def submission_score(claim: Claim) -> None:
    """Score a claimed submission and record the result or a participant-readable failure."""
    submission = Submission.objects.select_related("phase__challenge").get(pk=claim.submission_id)
    try:
        result, config, arrays, truth = _evaluate(submission)
    except InputError as exc:
        submission_record_failure(claim, "\n".join(exc.problems), discard_file=True)
        return
    except MemoryError:
        submission_record_failure(claim, _("The file is too large to score."), discard_file=True)
        return
    _record_success(claim, submission, result, config, arrays, truth)


def submission_fail_internal(claim: Claim) -> None:
    """Record a failure whose cause is ours (a bug, a lost file) without leaking its details."""
    submission_record_failure(claim, str(INTERNAL_ERROR_MESSAGE))


def _evaluate(submission: Submission) -> tuple[dict, dict, CaseArrays, Truth]:
    phase: Phase = submission.phase
    task = phase.challenge.task
    with phase.ground_truth.open("rb") as handle:
        truth = read_truth(handle, task=task)
    with submission.file.open("rb") as handle:
        predictions = read_predictions(
            handle, truth, task=task, max_bytes=settings.SUBMISSION_MAX_BYTES
        )
    result, config = phase_evaluate(phase, truth, predictions)
    return result, config, case_arrays(truth, predictions, threshold=phase.threshold), truth


def phase_evaluate(phase: Phase, truth: Truth, predictions: Predictions) -> tuple[dict, dict]:
    """Score predictions already read against ``truth`` as the phase scores a submission: the
    result on each split (``Submission.result``'s layout) and the configuration it used. Also
    scores an uploaded reference entry (``services.levelling``), so it is measured exactly as
    the entries it is compared with."""
    task = phase.challenge.task
    config = {
        "task": task,
        "threshold": phase.threshold,
        "costs": {"fn": phase.cost_fn, "fp": phase.cost_fp},
        "primary_metric": phase.primary_metric,
        "metrics": scored_metrics(task, phase.primary_metric),
        "attributes": sorted(truth.attributes),
        "intersections": [list(pair) for pair in phase.intersection_pairs],
        "bootstrap": phase.bootstrap_resamples,
        "seed": BOOTSTRAP_SEED,
        "min_group": phase.min_group_size,
        "truth_uploaded_at": phase.truth_uploaded_at.isoformat()
        if phase.truth_uploaded_at
        else None,
    }
    options = {
        "threshold": phase.threshold,
        "costs": phase.error_costs,
        "metrics": config["metrics"],
        "intersections": phase.intersection_pairs,
        "bootstrap": phase.bootstrap_resamples,
        "seed": BOOTSTRAP_SEED,
        "min_group": phase.min_group_size,
    }
    public = split_mask(truth, "public")
    private = split_mask(truth, "private")
    result = {
        "public": evaluate(truth, predictions, cases=public, **options).to_dict(),
        "private": evaluate(truth, predictions, cases=private, **options).to_dict()
        if private is not None and private.any()
        else None,
    }
    # Several raters (label_<rater> columns): the same metrics against each of them.
    raters = submission_rater_scores(phase, truth, predictions, config["metrics"])
    if raters is not None:
        result["raters"] = raters
        config["rater_tie_rule"] = phase.rater_tie_rule
    return result, config


def scored_metrics(task: str, primary: str) -> list[str]:
    """Every built-in metric of the task, plus the primary one when it is a per-case scorer's."""
    ids = [metric.id for metric in metrics_for(task) if metric.scorer is None]
    return ids if primary in ids else [*ids, primary]


def _record_success(
    claim: Claim, submission: Submission, result: dict, config: dict, arrays: CaseArrays,
    truth: Truth,
) -> None:
    flags = probe_flags(submission, arrays)
    names = case_results_write(submission, arrays)
    try:
        recorded = _record_if_current(
            claim, result, config, names, flags, author=submission,
            decide=lambda: release_decide(submission, arrays, truth, flagged=bool(flags),
                                          seed=BOOTSTRAP_SEED),
        )
    except BaseException:
        case_results_discard(list(names.values()))
        raise
    if not recorded:
        case_results_discard(list(names.values()))


def _record_if_current(
    claim: Claim, result: dict, config: dict, names: dict[str, str], flags: list, *,
    author: Submission, decide: Callable[[], Decision],
) -> bool:
    now = timezone.now()
    with transaction.atomic():
        lock_author(author)
        submission = _locked_if_current(claim)
        if submission is None:
            return False
        # Under the author's lock: their released best cannot change until this commits.
        decision = decide()
        case_results_replace_after_commit(submission, names)
        submission_transition(
            submission, SubmissionEvent.Kind.FINISHED, at=now, result=result, config=config,
            engine_version=scoring.__version__, message="", finished_at=now,
            released=decision.released, release_note=decision.note[:200],
            ladder=decision.ladder, **names,
        )
        probe_flags_replace(submission, flags)
        # The field changed: re-rank it (the refresh then updates how alike the entries are).
        leaderboards_refresh_enqueue(submission.phase)
    return True


def submission_record_failure(claim: Claim, message: str, *, discard_file: bool = False) -> None:
    """Record a failure with its message. ``discard_file``: the file itself is the problem (not
    a CSV, wrong columns, too large), so it is deleted once the message is recorded: a failed
    upload frees its quota slot and must not keep its disk space either. Files that failed
    through our fault are kept for the organisers to look at."""
    now = timezone.now()
    with transaction.atomic():
        submission = _locked_if_current(claim)
        if submission is not None:
            _fail(submission, message, now)
            if discard_file:
                _discard_file_after_commit(submission)


def _discard_file_after_commit(submission: Submission) -> None:
    name = submission.file.name
    Submission.objects.filter(pk=submission.pk).update(file="")
    transaction.on_commit(lambda: submission.file.storage.delete(name) if name else None)


def _locked_if_current(claim: Claim) -> Submission | None:
    submission = Submission.objects.select_for_update().filter(pk=claim.submission_id).first()
    if (
        submission is None
        or submission.status != Submission.Status.SCORING
        or submission.deliveries != claim.token
    ):
        logger.info(
            "Submission %s: claim %s is stale, result dropped", claim.submission_id, claim.token
        )
        return None
    return submission


def _fail(submission: Submission, message: str, now) -> None:
    submission_transition(
        submission, SubmissionEvent.Kind.FAILED, at=now,
        detail=message.splitlines()[0] if message else "", message=message, finished_at=now,
    )


def _fail_given_up(submission: Submission, now) -> None:
    """Stop retrying a submission whose scoring keeps dying (it may crash the worker)."""
    _fail(
        submission,
        _(
            "Scoring this file did not finish after %(n)d attempts, so it will not be tried "
            "again. Check that the file is a plain CSV of the expected size."
        )
        % {"n": submission.deliveries},
        now,
    )


def submissions_sweep(*, now=None) -> dict[str, int]:
    """Re-enqueue submissions stuck in queued or scoring; fail those that keep dying.

    Stuck means: still queued, or still scoring, ``STUCK_AFTER`` after the last time anything
    happened to it. Runs from Celery beat; returns counts for the log.
    """
    now = now or timezone.now()
    cutoff = now - settings.STUCK_AFTER
    counts = {"requeued": 0, "failed": 0}
    with transaction.atomic():
        stuck = list(
            Submission.objects.select_for_update(skip_locked=True).filter(
                status__in=[Submission.Status.QUEUED, Submission.Status.SCORING],
            )
        )
        for submission in stuck:
            last = max(t for t in (submission.created_at, submission.started_at) if t is not None)
            if last > cutoff:
                continue
            if submission.deliveries >= settings.SCORING_MAX_DELIVERIES:
                _fail_given_up(submission, now)
                counts["failed"] += 1
                continue
            # A fresh start time, so the next sweep waits a full STUCK_AFTER again.
            submission_transition(
                submission, SubmissionEvent.Kind.REQUEUED, at=now,
                detail=_("Not finished in time; queued again."), started_at=now,
                message="",  # set again if the broker is still unreachable
            )
            submission_enqueue(submission)
            counts["requeued"] += 1
    return counts
