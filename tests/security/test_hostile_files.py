"""Files built to tie up the worker or the disk: refused early, cleaned up, capped per person."""

from __future__ import annotations

import io
import os

import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from competitions import services
from competitions.models import Submission
from scoring.errors import InputError
from scoring.io import read_predictions, read_truth
from tests.conftest import score_now, upload

pytestmark = pytest.mark.django_db


def _wide_header(columns: int) -> bytes:
    header = ",".join(f"c{i}" for i in range(columns))
    return (header + "\n" + "0," * (columns - 1) + "0\n").encode()


@pytest.mark.parametrize("columns", [10_000, 20_000])
def test_a_header_of_thousands_of_columns_is_refused_before_any_csv_reader_runs(
    truth_csv, columns, monkeypatch
):
    truth = read_truth(io.BytesIO(truth_csv))

    def no_parser(*args, **kwargs):
        raise AssertionError("the CSV reader ran on a hostile header")

    monkeypatch.setattr(pd, "read_csv", no_parser)
    with pytest.raises(InputError) as refused:
        read_predictions(io.BytesIO(_wide_header(columns)), truth)
    message = " ".join(refused.value.problems)
    assert "header" in message and ("columns" in message or "longer than" in message)


def test_a_few_stray_columns_still_get_the_usual_message(truth_csv):
    truth = read_truth(io.BytesIO(truth_csv))
    with pytest.raises(InputError) as refused:
        read_predictions(io.BytesIO(b"case_id,score,a,b\nx,0.5,1,2\n"), truth)
    assert any(p.startswith("unexpected columns: a, b") for p in refused.value.problems)


def test_a_failed_uploads_file_is_deleted_once_its_message_is_recorded(
    client, open_phase, participant, django_capture_on_commit_callbacks
):
    submission = services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(os.urandom(200_000))
    )
    stored = submission.file.name
    storage = submission.file.storage
    assert storage.exists(stored)
    with django_capture_on_commit_callbacks(execute=True):
        score_now(submission)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.FAILED and "UTF-8" in submission.message
    assert not storage.exists(stored) and not submission.file
    client.force_login(participant.user)
    slug = open_phase.challenge.slug
    page = client.get(reverse("competitions:submission", args=[slug, submission.pk]))
    assert "deleted after it failed" in page.content.decode()
    assert client.get(reverse("competitions:submission-file",
                              args=[slug, submission.pk])).status_code == 404


def test_failed_uploads_are_capped_per_person_and_day_with_a_message(
    open_phase, participant, good_predictions, settings
):
    settings.FAILED_UPLOADS_PER_DAY_FACTOR = 1  # cap = 1 × the daily quota (3)
    for _ in range(3):
        score_now(services.submission_create(
            phase=open_phase, user=participant.user, upload=upload(b"not,a\nvalid,file\n")
        ))
    assert Submission.objects.filter(status=Submission.Status.FAILED).count() == 3
    with pytest.raises(ValidationError) as refused:
        services.submission_create(
            phase=open_phase, user=participant.user, upload=upload(good_predictions)
        )
    assert "3 of your uploads failed today" in refused.value.messages[0]
    assert Submission.objects.count() == 3
