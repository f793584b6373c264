"""Uploaded files: judged by their content, not their name; stored under generated names in a
storage no URL serves; handed back only as downloads the browser will not run or render."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.urls import reverse

from competitions import services
from competitions.models import DataFile, Submission
from tests.conftest import score_now, upload

pytestmark = pytest.mark.django_db

HOSTILE_PAGE = (b"<!DOCTYPE html><html><body><script>fetch('/api/v1/submissions/')"
                b".then(r => r.text()).then(alert)</script></body></html>\n")


def _submit(phase, user, content: bytes, name: str) -> Submission:
    submission = services.submission_create(phase=phase, user=user, upload=upload(content, name))
    score_now(submission)
    submission.refresh_from_db()
    return submission


def test_a_csv_named_exe_is_judged_by_its_content_and_scored(
    open_phase, participant, good_predictions
):
    submission = _submit(open_phase, participant.user, good_predictions, "model.exe")
    assert submission.status == Submission.Status.SCORED
    assert submission.original_name == "model.exe"


@pytest.mark.parametrize(("content", "name"), [
    (HOSTILE_PAGE, "predictions.csv"),
    (b"alert(document.cookie);\n", "predictions.csv"),
    (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" * 8, "predictions.csv"),
])
def test_html_script_or_binary_named_csv_fails_with_a_message(
    client, open_phase, participant, content, name
):
    submission = _submit(open_phase, participant.user, content, name)
    assert submission.status == Submission.Status.FAILED
    assert submission.message and "Traceback" not in submission.message
    # The message may quote what it found; the page shows it as text, never as markup.
    client.force_login(participant.user)
    page = client.get(reverse("competitions:submission",
                              args=[open_phase.challenge.slug, submission.pk])).content
    assert b"<script>fetch" not in page and b"<html><body>" not in page
    if content == HOSTILE_PAGE:
        assert b"&lt;script&gt;fetch" in page


def test_a_file_over_the_limit_is_refused_before_anything_is_stored(
    open_phase, participant, settings
):
    settings.SUBMISSION_MAX_BYTES = 1000
    with pytest.raises(ValidationError, match="the limit is"):
        services.submission_create(phase=open_phase, user=participant.user,
                                   upload=upload(b"case_id,score\n" + b"x,0.5\n" * 200))
    assert not Submission.objects.exists()


def test_the_page_upload_refuses_an_oversized_file_with_a_message(
    client, open_phase, participant, settings
):
    settings.SUBMISSION_MAX_BYTES = 1000
    client.force_login(participant.user)
    url = reverse("competitions:submission-create",
                  args=[open_phase.challenge.slug, open_phase.slug])
    response = client.post(url, {"file": upload(b"x" * 2000, "big.csv")}, follow=True)
    assert "the limit is" in response.content.decode()
    assert not Submission.objects.exists()


def test_files_are_stored_under_generated_names_outside_static_and_media(
    open_phase, participant, good_predictions
):
    submission = services.submission_create(
        phase=open_phase, user=participant.user,
        upload=upload(good_predictions, "../../static/evil.html"),
    )
    stored = submission.file.name
    assert "evil" not in stored and ".." not in stored and stored.endswith(".upload")
    assert submission.file.storage is storages["private"]
    path = Path(submission.file.path).resolve()
    assert path.is_relative_to(Path(settings.PRIVATE_ROOT).resolve())
    for served in (settings.STATIC_ROOT, settings.MEDIA_ROOT, *settings.STATICFILES_DIRS):
        assert not path.is_relative_to(Path(served).resolve())
    assert not (Path(settings.STATIC_ROOT) / "evil.html").exists()
    # The truth is in the same private storage, under a generated name.
    truth = Path(open_phase.ground_truth.path).resolve()
    assert truth.is_relative_to(Path(settings.PRIVATE_ROOT).resolve())
    assert truth.stem not in ("truth", "ground_truth")


def test_a_download_is_an_attachment_the_browser_will_not_sniff_or_render(
    client, open_phase, participant
):
    submission = services.submission_create(phase=open_phase, user=participant.user,
                                            upload=upload(HOSTILE_PAGE, "page.html"))
    client.force_login(participant.user)
    response = client.get(reverse("competitions:submission-file",
                                  args=[open_phase.challenge.slug, submission.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/octet-stream"
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == HOSTILE_PAGE


def test_organiser_data_files_download_the_same_way(client, open_phase):
    data_file = DataFile(challenge=open_phase.challenge, title="Notes", filename="notes.html")
    data_file.file.save("notes.html", ContentFile(HOSTILE_PAGE))
    response = client.get(reverse("competitions:data-file",
                                  args=[open_phase.challenge.slug, data_file.pk]))
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
