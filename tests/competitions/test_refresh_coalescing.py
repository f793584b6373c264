"""A burst of scored submissions queues one leaderboard refresh and one similarity update each;
the first to run covers them all and the others return without ranking the same field again."""

from __future__ import annotations

import pytest
from django.utils import timezone

from competitions.models import SimilarityReport
from competitions.worker.tasks import compute_phase_similarity

pytestmark = pytest.mark.django_db


def test_similarity_updates_asked_for_before_the_last_report_began_do_nothing(field):
    phase, _scores = field
    asked = timezone.now().isoformat()
    assert compute_phase_similarity(phase.pk, requested_at=asked) >= 1
    reports = list(SimilarityReport.objects.filter(phase=phase).values("pk", "computed_at"))

    assert compute_phase_similarity(phase.pk, requested_at=asked) == 0
    assert list(SimilarityReport.objects.filter(phase=phase).values("pk", "computed_at")) == (
        reports
    )
    # An organiser's full recompute is never skipped, nor an update asked for later.
    assert compute_phase_similarity(phase.pk, full=True, requested_at=asked) >= 1
    assert compute_phase_similarity(phase.pk, requested_at=timezone.now().isoformat()) >= 1
