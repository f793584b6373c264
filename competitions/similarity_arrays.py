"""The similarity report's matrices as a file: written by the worker, read by the pages.

A report of S entries holds, for every measure, an S x S matrix over all cases and one per
subgroup: at 1,000 entries and a few subgroups that is far too much for a JSON column. The
worker stores ``scoring.similarity.SimilarityArrays.packed`` (the upper triangles, float64, so
an update that reuses them stays exact) as one ``.npz`` in the private storage, S3 included;
the row keeps what a page needs without the file (entries, order, positions, flags, the mean,
the groups' names and sizes) and the file's name.

Only the latest report of a phase and split keeps a file: the next update reuses its matrices,
the page shows them; an older row is a point of the diversity trend (its mean) and its file is
deleted once the transaction that replaced it commits, as are the files of deleted rows.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models.signals import post_delete

from competitions.models import Phase, SimilarityReport, private_storage
from scoring.similarity import SimilarityArrays, unpacked_matrices

FILENAME = "matrices.npz"


def similarity_arrays_write(phase: Phase, split: str, arrays: SimilarityArrays) -> tuple[str, int]:
    """Write the matrices as a new file; return (stored name, bytes) for the row to attach.

    Uncompressed: the values are kappas and fractions with full mantissas, which zlib barely
    shrinks, and an uncompressed member is read without inflating it.
    """
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays.packed())
    field = SimilarityReport._meta.get_field("arrays")
    path = field.generate_filename(SimilarityReport(phase=phase, split=split), FILENAME)
    content = buffer.getvalue()
    return private_storage.save(path, ContentFile(content)), len(content)


def similarity_arrays_read(report: SimilarityReport) -> SimilarityArrays | None:
    """Every matrix of ``report`` (None when it keeps no file: an older report)."""
    if not report.arrays:
        return None
    groups = [(g["attribute"], g["group"], g["n"]) for g in report.groups]
    with private_storage.open(report.arrays.name, "rb") as handle, _npz(handle) as stored:
        return SimilarityArrays.unpacked(_names(report), groups, stored)


def similarity_matrices_read(
    report: SimilarityReport,
    *,
    group_index: int | None,
    measures: Sequence[str],
    entries: Sequence[int] | None = None,
) -> dict[str, np.ndarray]:
    """The ``measures`` of all cases (``group_index`` None) or of one of ``report.groups``,
    restricted to the rows and columns of ``entries`` (indices, in that order) if given.

    Reads only those members of the file (the page shows a corner of one group). ``{}`` when
    the report keeps no file.
    """
    if not report.arrays:
        return {}
    with private_storage.open(report.arrays.name, "rb") as handle, _npz(handle) as stored:
        return unpacked_matrices(stored, len(report.entries), group_index, measures, entries)


def similarity_arrays_discard(names: Sequence[str]) -> None:
    """Delete stored matrix files (a stale computation's, or the ones a newer report replaced)."""
    for name in names:
        if name:
            private_storage.delete(name)


def similarity_arrays_retire(phase: Phase, split: str, *, keep: SimilarityReport) -> None:
    """Detach the files of the split's other reports; delete them once this transaction commits.

    Call inside the transaction that stored ``keep`` (the latest), so a reader never meets a
    latest report without its file.
    """
    older = (
        SimilarityReport.objects.filter(phase=phase, split=split)
        .exclude(pk=keep.pk)
        .exclude(arrays="")
    )
    names = list(older.values_list("arrays", flat=True))
    if names:
        older.update(arrays="", arrays_bytes=0)
        transaction.on_commit(lambda: similarity_arrays_discard(names))


def _names(report: SimilarityReport) -> list[str]:
    return [entry["team"] for entry in report.entries]


def _npz(handle) -> np.lib.npyio.NpzFile:
    # Object arrays would need pickle, which could run code from a tampered file.
    return np.load(handle, allow_pickle=False)


def _report_deleted(sender, instance: SimilarityReport, **kwargs) -> None:
    name = instance.arrays.name
    if name:
        transaction.on_commit(lambda: similarity_arrays_discard([name]))


def connect_signals() -> None:
    """Delete the file of a deleted report (its phase deleted, say); CompetitionsConfig.ready."""
    post_delete.connect(_report_deleted, sender=SimilarityReport,
                        dispatch_uid="similarity-arrays-deleted")
