"""Similarity of a phase's field: which submissions count, reading them, storing the report.

The numbers come from ``scoring.field_report`` and ``scoring.similarity``; this module picks the
counting submission of every team (its best on the phase's primary metric, as the leaderboard
shows it) and records the result for the pages.
"""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from competitions.models import Phase, SimilarityReport, Submission
from competitions.selectors import leaderboard_rows
from competitions.splits import split_mask
from scoring.field_report import field_similarity
from scoring.io import read_predictions, read_truth
from scoring.similarity import (
    clustered_order,
    flag_similar_pairs,
    mds_embedding,
    mean_pairwise,
)

# Label-based measures reveal, pair by pair, which cases both entries got wrong.
LABEL_MEASURES = ("error_consistency", "q_statistic", "disagreement", "double_fault")


def phase_similarity_compute(*, phase: Phase) -> list[SimilarityReport]:
    """Compute and store the field's similarity on each split that has cases."""
    task = phase.challenge.task
    with phase.ground_truth.open("rb") as handle:
        truth = read_truth(handle, task=task)
    reports = []
    for split in ("public", "private"):
        mask = split_mask(truth, split)
        if mask is None or not mask.any():
            continue
        rows = leaderboard_rows(phase, split=split)
        if len(rows) < 2:
            continue
        submissions = Submission.objects.in_bulk([row.submission_id for row in rows])
        predictions = []
        for row in rows:
            with submissions[row.submission_id].file.open("rb") as handle:
                predictions.append(
                    read_predictions(
                        handle, truth, task=task, max_bytes=settings.SUBMISSION_MAX_BYTES
                    )
                )
        names = [row.team for row in rows]
        report = field_similarity(
            names,
            truth,
            predictions,
            threshold=phase.threshold,
            attributes=sorted(truth.attributes),
            cases=mask,
        )
        ec = np.array(
            [[np.nan if v is None else v for v in line]
             for line in report["measures"]["error_consistency"]],
            dtype=float,
        )
        flagged = flag_similar_pairs(ec, [row.team for row in rows])
        fields = {
            "computed_at": timezone.now(),
            "entries": [{"submission": r.submission_id, "team": r.team} for r in rows],
            "report": report,
            "mean_error_consistency": mean_pairwise(ec),
            "order": clustered_order(np.nan_to_num(ec, nan=0.0)),
            "positions": mds_embedding(np.nan_to_num(ec, nan=0.0)).round(6).tolist(),
            "flagged": [{"first": p.first, "second": p.second, "value": p.value} for p in flagged],
        }
        with transaction.atomic():
            latest = (
                SimilarityReport.objects.select_for_update()
                .filter(phase=phase, split=split)
                .first()
            )
            if latest is not None and latest.entries == fields["entries"]:
                # Same counting submissions (e.g. a rescore or a duplicate task): refresh the
                # row, so the trend gains a point only when the field itself changed.
                for name, value in fields.items():
                    setattr(latest, name, value)
                latest.save()
                reports.append(latest)
            else:
                reports.append(
                    SimilarityReport.objects.create(phase=phase, split=split, **fields)
                )
    return reports


def similarity_enqueue(phase: Phase) -> None:
    from competitions.tasks import compute_phase_similarity

    pk = phase.pk
    transaction.on_commit(lambda: compute_phase_similarity.delay(pk))
