"""Similarity and ensembles of a phase's field: which submissions count, and storing the report.

The numbers come from ``scoring.similarity``, ``scoring.field_report`` and ``scoring.ensemble``
over the stored per-case arrays (``competitions.case_results``), never the CSVs. The entries are
the primary leaderboard's counting submissions as its snapshot ranks them
(``competitions.standings``), so the similarity page and the leaderboard show the same field;
the leaderboard refresh asks for this update once it has stored the new snapshot.

After a new submission is scored only the rows of the entries that changed are computed: the
previous report's matrices are reused for every pair of unchanged entries (same submission,
same stored arrays, same ground truth). Organisers can ask for a full recompute (admin action).
The matrices are a file (``competitions.similarity_arrays``); the row holds the rest.
"""

from __future__ import annotations

import logging
from datetime import datetime

import numpy as np
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from competitions.case_results import CaseMatrix, phase_case_matrix, phase_truth
from competitions.models import Phase, SimilarityReport, Submission
from competitions.similarity_arrays import (
    similarity_arrays_discard,
    similarity_arrays_read,
    similarity_arrays_retire,
    similarity_arrays_write,
)
from competitions.splits import split_mask
from competitions.standings import phase_standings, primary_column
from scoring.errors import InputError
from scoring.field_report import field_ensembles_report
from scoring.io import Predictions
from scoring.result import SplitResult
from scoring.similarity import (
    SimilarityArrays,
    clustered_order,
    flag_similar_pairs,
    mds_embedding,
    mean_pairwise,
    similarity_arrays,
    updated_similarity_arrays,
)
from scoring.vocabulary import SPLITS

logger = logging.getLogger(__name__)


def phase_similarity_compute(*, phase: Phase, full: bool = False) -> list[SimilarityReport]:
    """Compute and store the field's similarity and ensembles on each split that has cases.

    Binary tasks only (the measures compare 0/1 decisions). ``full`` ignores the previous
    report and computes every row.
    """
    if phase.challenge.task != "binary" or not phase.ground_truth:
        return []
    # Before anything is read: a report holds every change committed before its computed_at.
    started = timezone.now()
    truth = phase_truth(phase)
    reports = []
    for split in SPLITS:
        mask = split_mask(truth, split)
        if mask is None or not mask.any():
            continue
        rows = phase_standings(phase, split=split)
        if len(rows) < 2:
            continue
        matrix = phase_case_matrix(phase, [row.submission_id for row in rows], truth=truth)
        entries = [
            {"submission": row.submission_id, "team": row.team, "version": version}
            for row, version in zip(rows, matrix.versions, strict=True)
        ]
        fields, arrays = _fields(phase, split, matrix, mask, entries, full=full)
        report = _store(phase, split, entries, fields | {"computed_at": started}, arrays)
        if report is None:
            continue
        # Stored first: the similarity is kept even if the slower ensembles run out of time.
        _store_ensembles(report, _ensembles(phase, split, matrix, mask, entries))
        reports.append(report)
    return reports


def _basis(phase: Phase) -> dict:
    """What stored matrices depend on besides the entries: reuse them only if it is unchanged."""
    return {
        "truth_uploaded_at": phase.truth_uploaded_at.isoformat()
        if phase.truth_uploaded_at
        else None,
    }


def _fields(
    phase: Phase,
    split: str,
    matrix: CaseMatrix,
    mask: np.ndarray,
    entries: list[dict],
    *,
    full: bool,
) -> tuple[dict, SimilarityArrays]:
    """The row's fields and the matrices of the split (stored as a file by ``_store``)."""
    names = [entry["team"] for entry in entries]
    labels = matrix.labels[mask]
    scores = matrix.scores[:, mask]
    decisions = matrix.decisions[:, mask]
    attributes = {name: values[mask] for name, values in sorted(matrix.attributes.items())}
    previous = None if full else _previous(phase, split, entries)
    if previous is None:
        arrays = similarity_arrays(names, decisions, labels, scores, attributes)
        rows_computed = len(entries)
    else:
        latest, reuse = previous
        arrays = updated_similarity_arrays(
            names, decisions, labels, scores, attributes, previous=latest, reuse=reuse
        )
        rows_computed = sum(source is None for source in reuse)
    ec = arrays.measures["error_consistency"]
    threshold = phase.similarity_flag_threshold
    flagged = flag_similar_pairs(ec, names, threshold=threshold)
    fields = {
        "computed_at": timezone.now(),
        "entries": entries,
        "groups": [{"attribute": g.attribute, "group": g.group, "n": g.n} for g in arrays.groups],
        "basis": _basis(phase),
        "mean_error_consistency": mean_pairwise(ec),
        "order": clustered_order(np.nan_to_num(ec, nan=0.0)),
        "positions": mds_embedding(np.nan_to_num(ec, nan=0.0)).round(6).tolist(),
        "flagged": [{"first": p.first, "second": p.second, "value": p.value} for p in flagged],
        "flag_threshold": threshold,
        "rows_computed": rows_computed,
    }
    return fields, arrays


def _previous(
    phase: Phase, split: str, entries: list[dict]
) -> tuple[SimilarityArrays, list[int | None]] | None:
    """The latest report's matrices of the split and, per entry, its index there (None:
    recompute); None when there is nothing to reuse."""
    latest = SimilarityReport.objects.filter(phase=phase, split=split).first()
    if latest is None or latest.basis != _basis(phase):
        return None
    arrays = similarity_arrays_read(latest)
    if arrays is None:
        return None
    known = {
        (entry["submission"], entry.get("version")): index
        for index, entry in enumerate(latest.entries)
    }
    reuse = [known.get((entry["submission"], entry["version"])) for entry in entries]
    return arrays, reuse


def _ensembles(
    phase: Phase, split: str, matrix: CaseMatrix, mask: np.ndarray, entries: list[dict]
) -> dict:
    """Mean-score, majority-vote and diverse ensembles of the field on the split's cases.

    The single entries' metrics for the gains are their stored results on the split.
    """
    predictions = [
        Predictions("binary", scores=matrix.scores[i], labels=matrix.decisions[i])
        for i in range(len(entries))
    ]
    ids = [entry["submission"] for entry in entries]
    stored = stored_overall_values(ids, split)
    singles = [stored.get(pk, {}) for pk in ids]
    column = primary_column(phase)
    if column is None:
        return {}
    try:
        return field_ensembles_report(
            [entry["team"] for entry in entries],
            matrix.truth,
            predictions,
            k=phase.ensemble_size,
            metric=column.metric,
            threshold=phase.threshold,
            costs=phase.error_costs,
            min_group=phase.min_group_size,
            cases=mask,
            single_metrics=singles,
        )
    except (InputError, KeyError) as exc:
        # E.g. a primary metric computed by a per-case scorer, which ensembles cannot re-run.
        logger.warning("Phase %s: no ensembles of the field (%s)", phase.pk, exc)
        return {}


def _store_ensembles(report: SimilarityReport, ensembles: dict) -> None:
    """Attach ensembles unless a newer computation refreshed the report meanwhile."""
    SimilarityReport.objects.filter(pk=report.pk, computed_at=report.computed_at).update(
        ensembles=ensembles
    )
    report.ensembles = ensembles


def _store(
    phase: Phase, split: str, entries: list[dict], fields: dict, arrays: SimilarityArrays
) -> SimilarityReport | None:
    """Record the report unless the field changed meanwhile (a newer task then records its own).

    Same counting submissions as the latest report (a rescore with equal arrays, a duplicate
    task, a new threshold): that row is refreshed, so the trend gains a point only when the
    field itself changed. The matrices' file is written first and dropped if the report is
    not recorded; the file it replaces is deleted once the new one is attached.
    """
    name, size = similarity_arrays_write(phase, split, arrays)
    fields = fields | {"arrays": name, "arrays_bytes": size}
    report = None
    recorded = False
    try:
        with transaction.atomic():
            latest = (
                SimilarityReport.objects.select_for_update()
                .filter(phase=phase, split=split)
                .first()
            )
            current = [(e["submission"], e["version"]) for e in entries]
            if _current_entries(phase, split) != current:
                logger.info("Phase %s (%s): field changed during the computation", phase.pk, split)
            elif latest is not None and [
                (e["submission"], e.get("version")) for e in latest.entries
            ] == current:
                replaced = latest.arrays.name
                for field, value in fields.items():
                    setattr(latest, field, value)
                latest.save()
                report = latest
                transaction.on_commit(lambda: similarity_arrays_discard([replaced]))
            else:
                report = SimilarityReport.objects.create(phase=phase, split=split, **fields)
            if report is not None:
                similarity_arrays_retire(phase, split, keep=report)
        recorded = report is not None
    finally:
        if not recorded:
            similarity_arrays_discard([name])
    return report


def _current_entries(phase: Phase, split: str) -> list[tuple[int, str]]:
    ids = [row.submission_id for row in phase_standings(phase, split=split)]
    versions = dict(Submission.objects.filter(pk__in=ids).values_list("pk", "case_scores"))
    return [(pk, versions.get(pk, "")) for pk in ids]


def similarity_fresh_since(phase: Phase, requested_at: datetime) -> bool:
    """Whether the phase's latest report on each split it has began reading at or after
    ``requested_at``, so an update asked for then has nothing left to do: a burst of scored
    submissions queues one task each, and the first covers them all. Assumes the web and worker
    clocks agree, as Celery does (the leaderboard refresh uses a counter instead)."""
    latest = {}
    for report in SimilarityReport.objects.filter(phase=phase).only("split", "computed_at"):
        latest.setdefault(report.split, report.computed_at)  # newest first (Meta.ordering)
    return bool(latest) and all(at >= requested_at for at in latest.values())


def stored_overall_values(submission_ids: list[int], split: str) -> dict[int, dict]:
    """``{id: {metric: value}}`` from each submission's stored result on ``split``, overall: the
    single entries an ensemble's gain is measured against. One query that reads only that part
    of each result; an absent split gives ``{}``."""
    stored = (
        Submission.objects.filter(pk__in=submission_ids)
        .annotate(split_result=F(f"result__{split}"))
        .values_list("pk", "split_result")
    )
    return {
        pk: {} if result is None else {
            name: entry.value for name, entry in SplitResult.from_dict(result).overall.items()
        }
        for pk, result in stored
    }
