"""Submissions are refused with a reason, store nothing when refused, and respect quotas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from competitions import services
from competitions.models import Submission
from tests.conftest import upload
from tests.factories import ParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db


def _stored_files(phase) -> list[str]:
    storage = Submission._meta.get_field("file").storage
    folder = f"submissions/{phase.pk}"
    return storage.listdir(folder)[1] if storage.exists(folder) else []


def test_the_submission_after_the_daily_quota_is_refused_and_nothing_is_stored(
    open_phase, participant, good_predictions
):
    for _ in range(open_phase.submissions_per_day):
        services.submission_create(
            phase=open_phase, user=participant.user, upload=upload(good_predictions)
        )
    stored_before = _stored_files(open_phase)
    with pytest.raises(ValidationError, match="all 3 submissions for today"):
        services.submission_create(
            phase=open_phase, user=participant.user, upload=upload(good_predictions)
        )
    assert Submission.objects.filter(team=participant.team).count() == 3
    assert _stored_files(open_phase) == stored_before


def test_quota_counts_per_team_not_per_member(open_phase, participant, good_predictions):
    teammate = ParticipantFactory(team=participant.team)
    for member in (participant, teammate, participant):
        services.submission_create(
            phase=open_phase, user=member.user, upload=upload(good_predictions)
        )
    with pytest.raises(ValidationError):
        services.submission_create(
            phase=open_phase, user=teammate.user, upload=upload(good_predictions)
        )


def test_a_failed_submission_frees_its_slot(open_phase, participant, good_predictions):
    first = services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(good_predictions)
    )
    for _ in range(2):
        services.submission_create(
            phase=open_phase, user=participant.user, upload=upload(good_predictions)
        )
    Submission.objects.filter(pk=first.pk).update(status=Submission.Status.FAILED)
    services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(good_predictions)
    )
    assert Submission.objects.filter(team=participant.team).count() == 4


def test_the_daily_quota_resets_at_midnight_utc(open_phase, participant, good_predictions):
    late = datetime.now(UTC).replace(hour=23, minute=59, second=0, microsecond=0)
    if late >= open_phase.end:
        late -= timedelta(days=1)
    for _ in range(3):
        services.submission_create(
            phase=open_phase, user=participant.user, upload=upload(good_predictions), now=late
        )
    after_midnight = late + timedelta(minutes=2)
    services.submission_create(
        phase=open_phase,
        user=participant.user,
        upload=upload(good_predictions),
        now=after_midnight,
    )


def test_the_total_quota_holds_across_days(open_phase, participant, good_predictions):
    open_phase.submissions_total = 2
    open_phase.save()
    now = datetime.now(UTC)
    for days in (0, 1):
        services.submission_create(
            phase=open_phase,
            user=participant.user,
            upload=upload(good_predictions),
            now=now + timedelta(days=days),
        )
    with pytest.raises(ValidationError, match="all 2 submissions for this phase"):
        services.submission_create(
            phase=open_phase,
            user=participant.user,
            upload=upload(good_predictions),
            now=now + timedelta(days=2),
        )


def test_a_late_submission_is_refused_with_the_closing_time(
    open_phase, participant, good_predictions
):
    after_end = open_phase.end + timedelta(seconds=1)
    with pytest.raises(ValidationError, match="closed at"):
        services.submission_create(
            phase=open_phase, user=participant.user, upload=upload(good_predictions), now=after_end
        )
    assert not Submission.objects.exists()


def test_someone_who_did_not_join_cannot_submit(open_phase, good_predictions):
    with pytest.raises(ValidationError, match="Join the challenge"):
        services.submission_create(
            phase=open_phase, user=UserFactory(), upload=upload(good_predictions)
        )


@override_settings(SUBMISSION_MAX_BYTES=1000)
def test_a_file_over_the_size_limit_is_refused_before_it_is_stored(
    open_phase, participant, good_predictions
):
    stored_before = _stored_files(open_phase)
    with pytest.raises(ValidationError, match="the limit is 1.0 kB"):
        services.submission_create(
            phase=open_phase, user=participant.user, upload=upload(good_predictions)
        )
    assert _stored_files(open_phase) == stored_before
    assert not Submission.objects.exists()


def test_a_received_submission_is_queued_with_its_steps_logged(
    open_phase, participant, good_predictions
):
    submission = services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(good_predictions, "mine.csv"),
        description="Logistic model",
    )
    assert submission.status == Submission.Status.QUEUED
    assert submission.original_name == "mine.csv"
    assert [e.kind for e in submission.events.all()] == ["received", "queued"]
    assert submission.file.name.startswith(f"submissions/{open_phase.pk}/")
    assert "mine" not in submission.file.name
