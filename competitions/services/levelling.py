"""The phase's reference entry and floors (levelling down, docs/metrics.md).

A reference is either an organiser's baseline among the phase's submissions
(``Phase.reference_submission``, chosen in the admin) or a file — "the previous challenge's
winner" — uploaded here. The file is checked exactly as a submission is (``scoring.io``: the
same messages), stored privately and scored by the worker the next time it ranks the phase
(``competitions.worker.levelling``), so it is measured as the entries it is compared with.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction
from django.utils.translation import gettext as _

from competitions.case_results import phase_truth
from competitions.models import Phase
from competitions.worker.dispatch import leaderboards_refresh_enqueue
from scoring.errors import InputError
from scoring.io import read_predictions

# Settings the levelling-down flags and the floor checks read: changing one re-ranks the phase
# (the flags live in the snapshots) and so changes every cached page (board_cache).
LEVELLING_SETTINGS = frozenset({"floors", "levelling_margin", "reference_submission",
                                "reference_label"})
# Settings an uploaded reference is scored with: changing one scores it again.
REFERENCE_SCORING_SETTINGS = frozenset({"threshold", "min_group_size", "bootstrap_resamples",
                                        "intersections", "cost_fn", "cost_fp",
                                        "primary_metric"})


def reference_file_check(*, phase: Phase, upload: File) -> None:
    """Refuse a reference file that would be refused as a submission, with the same reasons
    (``ValidationError``); the phase needs its ground truth first."""
    if not phase.pk or not phase.ground_truth:
        raise ValidationError(_("Upload the phase's ground truth before a reference file."))
    truth = phase_truth(phase)
    upload.seek(0)
    try:
        read_predictions(upload, truth, task=truth.task, max_bytes=settings.SUBMISSION_MAX_BYTES)
    except InputError as exc:
        raise ValidationError(
            [_("The reference file was refused, as a submission would be:"), *exc.problems]
        ) from exc
    finally:
        upload.seek(0)


def phase_reference_upload(*, phase: Phase, upload: File, label: str = "") -> Phase:
    """Check and store ``upload`` as the phase's reference entry in place of any other (a
    baseline submission or an earlier file); the worker scores it when it re-ranks."""
    reference_file_check(phase=phase, upload=upload)
    with transaction.atomic():
        old = phase.reference_file.name
        phase.reference_submission = None
        phase.reference_result = None
        if label:
            phase.reference_label = label
        phase.reference_file.save("reference.csv", upload, save=False)
        phase.save()
        leaderboards_refresh_enqueue(phase)
    if old:
        transaction.on_commit(lambda: phase.reference_file.storage.delete(old))
    return phase


def phase_reference_dropped(*, phase: Phase, name: str) -> None:
    """The organiser removed the uploaded reference file ``name`` (the phase is saved without
    it): delete it once that commits and re-rank without it."""
    with transaction.atomic():
        leaderboards_refresh_enqueue(phase)
        transaction.on_commit(lambda: phase.reference_file.storage.delete(name))


def levelling_settings_changed(*, phase: Phase, changed: set[str], truth_uploaded: bool) -> None:
    """What follows a phase's save (``services.phase_save``): an uploaded reference is scored
    again when the ground truth or its scoring settings changed, and the boards are re-ranked
    when a levelling setting changed."""
    rescore = phase.reference_file and (truth_uploaded or REFERENCE_SCORING_SETTINGS & changed)
    if rescore:
        Phase.objects.filter(pk=phase.pk).update(reference_result=None)
        phase.reference_result = None
    if rescore or LEVELLING_SETTINGS & changed:
        leaderboards_refresh_enqueue(phase)
