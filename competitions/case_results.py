"""Stored per-case results: each scored submission's outputs as compact arrays, and the field's.

Field-wide analyses (similarity, ensembles, ranking robustness) need every counting
submission's per-case outputs. Parsing and validating each CSV again costs seconds per file;
the worker therefore stores, with the result, what it read as ``.npy`` arrays in the private
storage, aligned to the ground truth's case order (the order ``scoring.io.read_truth``
returns):

* ``Submission.case_scores`` (float64): binary, the score of each case, shape (N,);
  multiclass, the class probabilities, shape (N, K) in ``Truth.classes`` order (one-hot rows of
  the predicted class when the file had no probabilities); regression, the values, shape (N,).
* ``Submission.case_decisions``: binary, the 0/1 decision that was scored (the team's own label
  column, else ``score >= threshold`` at scoring time), int8 (N,); multiclass, the index of the
  predicted class, int16 (N,); none for regression.

The worker writes the files before it records the result and attaches them only if its claim is
still current (see ``competitions.worker.evaluation``), so a stale delivery never overwrites them.
Submissions scored before the arrays existed are backfilled from their CSV on first use.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from competitions.models import Phase, Submission, private_storage
from scoring.contributions import binary_decisions
from scoring.io import Predictions, Truth, read_predictions, read_truth


@dataclass(frozen=True)
class CaseArrays:
    """One submission's per-case outputs (layout in the module docstring)."""

    scores: np.ndarray
    decisions: np.ndarray | None


@dataclass(frozen=True)
class CaseMatrix:
    """A phase's ground truth and the stacked per-case outputs of some of its submissions.

    ``labels``, ``attributes`` (name -> values as strings, missing = "unknown"), ``split``
    ("public"/"private" per case, None without a split column) and ``case_ids`` follow the
    ground truth's case order. ``scores`` is (S, N) — (S, N, K) for multiclass — and
    ``decisions`` (S, N) or None (regression), rows in the order of ``submission_ids``.
    ``versions`` names the stored file of each row: it changes when a rescore rewrites it.
    ``truth`` holds the labels: server side only, never for a participant.
    """

    truth: Truth
    scores: np.ndarray
    decisions: np.ndarray | None
    submission_ids: list[int]
    versions: list[str]

    @property
    def labels(self) -> np.ndarray:
        return self.truth.labels

    @property
    def attributes(self) -> dict[str, np.ndarray]:
        return self.truth.attributes

    @property
    def split(self) -> np.ndarray | None:
        return self.truth.split

    @property
    def case_ids(self) -> np.ndarray:
        return self.truth.case_ids


def case_arrays(truth: Truth, predictions: Predictions, *, threshold: float) -> CaseArrays:
    """The arrays to store for predictions already aligned to ``truth`` (``read_predictions``)."""
    if truth.task == "binary":
        return CaseArrays(
            scores=np.asarray(predictions.scores, dtype=np.float64),
            decisions=binary_decisions(truth, predictions, threshold).astype(np.int8),
        )
    if truth.task == "multiclass":
        index = {name: i for i, name in enumerate(truth.classes or ())}
        predicted = np.array([index[label] for label in predictions.labels], dtype=np.int16)
        if predictions.probabilities is not None:
            scores = np.asarray(predictions.probabilities, dtype=np.float64)
        else:
            scores = np.zeros((truth.n, len(index)))
            scores[np.arange(truth.n), predicted] = 1.0
        return CaseArrays(scores=scores, decisions=predicted)
    return CaseArrays(scores=np.asarray(predictions.values, dtype=np.float64), decisions=None)


def arrays_predictions(truth: Truth, arrays: CaseArrays) -> Predictions:
    """Predictions rebuilt from a submission's stored per-case arrays, to score again (the
    ladder's comparison, the change intervals against a reference)."""
    if truth.task == "multiclass":
        classes = np.asarray(truth.classes)
        return Predictions(task="multiclass", labels=classes[arrays.decisions],
                           probabilities=arrays.scores)
    if truth.task == "regression":
        return Predictions(task="regression", values=arrays.scores)
    return Predictions(task="binary", scores=arrays.scores, labels=arrays.decisions)


def _npy(array: np.ndarray) -> ContentFile:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return ContentFile(buffer.getvalue())


def case_results_write(submission: Submission, arrays: CaseArrays) -> dict[str, str]:
    """Write the arrays as new files; return ``{field name: stored name}`` to attach.

    Nothing is attached to the row here: the caller does that under its claim check, and
    deletes the files (``case_results_discard``) when the claim turned out stale.
    """
    names = {}
    for field, array, filename in (
        ("case_scores", arrays.scores, "scores.npy"),
        ("case_decisions", arrays.decisions, "decisions.npy"),
    ):
        if array is None:
            names[field] = ""
            continue
        path = Submission._meta.get_field(field).generate_filename(submission, filename)
        names[field] = private_storage.save(path, _npy(array))
    return names


def case_results_discard(names: list[str]) -> None:
    """Delete stored array files (a stale claim's, or the ones a rescore replaced)."""
    for name in names:
        if name:
            private_storage.delete(name)


def case_results_replace_after_commit(submission: Submission, names: dict[str, str]) -> None:
    """Attach new files to ``submission`` (unsaved); delete the old ones once this commits."""
    old = [getattr(submission, field).name for field in names]
    for field, name in names.items():
        setattr(submission, field, name)
    replaced = [name for name in old if name and name not in names.values()]
    transaction.on_commit(lambda: case_results_discard(replaced))


def _load(name: str) -> np.ndarray:
    with private_storage.open(name, "rb") as handle:
        return np.load(io.BytesIO(handle.read()), allow_pickle=False)


def phase_truth(phase: Phase) -> Truth:
    """The phase's ground truth, parsed (labels included: never send it to a participant)."""
    with phase.ground_truth.open("rb") as handle:
        return read_truth(handle, task=phase.challenge.task)


def phase_case_matrix(
    phase: Phase, submission_ids: list[int], *, truth: Truth | None = None
) -> CaseMatrix:
    """The ground truth (read once) and the stored arrays of ``submission_ids``, in that order.

    Only scored submissions of ``phase`` have results; any other id is a ``ValueError``. A scored
    submission without arrays (scored before they were stored), or with arrays that do not fit
    the current ground truth, gets them from its CSV now, written for the next reader.
    """
    truth = truth if truth is not None else phase_truth(phase)
    submissions = (
        Submission.objects.filter(phase=phase, status=Submission.Status.SCORED)
        .select_related("phase")
        .in_bulk(submission_ids)
    )
    missing = [pk for pk in submission_ids if pk not in submissions]
    if missing:
        raise ValueError(f"submissions without a result in phase {phase.pk}: {missing}")
    expected = (truth.n, len(truth.classes)) if truth.task == "multiclass" else (truth.n,)
    scores, decisions, versions = [], [], []
    for pk in submission_ids:
        submission = submissions[pk]
        arrays = _stored(submission)
        if arrays is None or arrays.scores.shape != expected:
            arrays = case_results_backfill(submission, truth)
        scores.append(arrays.scores)
        decisions.append(arrays.decisions)
        versions.append(submission.case_scores.name)
    width = (len(truth.classes),) if truth.task == "multiclass" else ()
    return CaseMatrix(
        truth=truth,
        scores=np.stack(scores) if scores else np.empty((0, truth.n, *width)),
        decisions=None
        if truth.task == "regression"
        else (np.stack(decisions) if decisions else np.empty((0, truth.n), dtype=np.int8)),
        submission_ids=list(submission_ids),
        versions=versions,
    )


def _stored(submission: Submission) -> CaseArrays | None:
    if not submission.case_scores:
        return None
    decisions = _load(submission.case_decisions.name) if submission.case_decisions else None
    return CaseArrays(scores=_load(submission.case_scores.name), decisions=decisions)


def stored_decisions(submissions: list[Submission]) -> list[tuple[int, np.ndarray]]:
    """``(id, decisions)`` of submissions that have stored decisions (binary, multiclass)."""
    return [(s.pk, _load(s.case_decisions.name)) for s in submissions if s.case_decisions]


def case_results_backfill(submission: Submission, truth: Truth) -> CaseArrays:
    """Derive a scored submission's arrays from its CSV and store them.

    Attached only if the row is unchanged since it was read (still scored, same delivery, same
    files), so a concurrent rescore or backfill wins and these files are dropped. ``submission``
    is updated in memory either way.
    """
    with submission.file.open("rb") as handle:
        predictions = read_predictions(
            handle, truth, task=truth.task, max_bytes=settings.SUBMISSION_MAX_BYTES
        )
    threshold = submission.config.get("threshold", submission.phase.threshold)
    arrays = case_arrays(truth, predictions, threshold=threshold)
    names = case_results_write(submission, arrays)
    with transaction.atomic():
        updated = Submission.objects.filter(
            pk=submission.pk,
            status=Submission.Status.SCORED,
            deliveries=submission.deliveries,
            case_scores=submission.case_scores.name,
        ).update(**names)
        if updated:
            case_results_replace_after_commit(submission, names)
    if not updated:
        case_results_discard(list(names.values()))
        submission.refresh_from_db()
        return _stored(submission) or arrays
    return arrays
