"""The worker flags probing submissions for the organisers; participants never see a flag."""

from __future__ import annotations

import numpy as np
import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from competitions import services
from competitions.models import SubmissionFlag
from competitions.roles import ORGANISERS_GROUP
from tests.conftest import predictions_csv, score_now, upload
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _scored(phase, user, scores) -> int:
    ids = phase_case_ids(phase)
    submission = services.submission_create(
        phase=phase, user=user, upload=upload(predictions_csv(ids, scores)))
    score_now(submission)
    return submission.pk


def phase_case_ids(phase) -> list[str]:
    with phase.case_list.open("rb") as handle:
        return handle.read().decode().split()[1:]


def test_the_precision_probe_and_a_near_copy_are_flagged_with_their_reasons(
    client, open_phase, participant, good_predictions
):
    n = len(phase_case_ids(open_phase))
    rng = np.random.default_rng(3)
    honest = rng.random(n)
    first = _scored(open_phase, participant.user, honest)
    probe = np.full(n, 0.5)
    probe[:40] = 0.5 - 2.0 ** -np.arange(1, 41)
    probing = _scored(open_phase, participant.user, probe)
    near = honest.copy()
    flipped = np.flatnonzero(np.abs(honest - 0.5) < 0.2)[:5]
    near[flipped] = 1 - near[flipped]
    copy = _scored(open_phase, participant.user, near)
    flags = {(f.submission_id, f.reason): f for f in SubmissionFlag.objects.all()}
    assert (first, "near_duplicate") not in flags
    assert (probing, "constant_scores") in flags
    near_flag = flags[(copy, "near_duplicate")]
    assert near_flag.earlier_id == first and 0 < near_flag.differing_cases < 0.01 * n
    # Organisers list them per phase; a participant sees no trace of a flag anywhere.
    organiser = UserFactory(is_staff=True)
    organiser.groups.add(Group.objects.get(name=ORGANISERS_GROUP))
    open_phase.challenge.organisers.add(organiser)
    client.force_login(organiser)
    listing = client.get(reverse("admin:competitions_submissionflag_changelist")).content.decode()
    assert "95% or more of its scores are one value" in listing
    client.force_login(participant.user)
    page = client.get(reverse("competitions:submission",
                              args=[open_phase.challenge.slug, probing])).content.decode()
    assert "constant_scores" not in page and "one value" not in page
