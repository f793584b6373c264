"""Files on S3-compatible storage, against a real S3 server the test starts (moto's server mode):
ground truths, uploads, their per-case arrays and downloads go through django-storages, and a
worker that cannot see the web's files (its own, empty data folder) reads and writes them there.

The web side here is this test process, pointed at the same bucket as the worker's settings
point it (``AWS_STORAGE_BUCKET_NAME``, ``AWS_S3_ENDPOINT_URL``, …): the private FileFields and
``private_storage`` are given the S3 storage those settings build.
"""

from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from django.apps import apps
from django.db.models import FileField
from django.urls import reverse
from moto.server import ThreadedMotoServer
from storages.backends.s3 import S3Storage

from competitions import services
from competitions.models import Submission, private_storage, private_storage_for_fields
from tests.conftest import upload
from tests.e2e.conftest import wait_for
from tests.factories import ParticipantFactory, PhaseFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BUCKET = "cheetah-test-files"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def s3(monkeypatch):
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    # What cheetah/settings.py builds from these variables (the "private" storage).
    storage = S3Storage(bucket_name=BUCKET, endpoint_url=endpoint, region_name="us-east-1",
                        default_acl="private", querystring_auth=True, file_overwrite=False,
                        location="private")
    for model in apps.get_models():
        for field in model._meta.fields:
            if (isinstance(field, FileField)
                    and getattr(field, "_storage_callable", None) is private_storage_for_fields):
                monkeypatch.setattr(field, "storage", storage)
    monkeypatch.setattr(private_storage, "_wrapped", storage)
    env = {"AWS_STORAGE_BUCKET_NAME": BUCKET, "AWS_S3_ENDPOINT_URL": endpoint,
           "AWS_S3_REGION_NAME": "us-east-1", **CREDENTIALS}
    yield SimpleNamespace(env=env, client=client)
    server.stop()


def _keys(s3) -> list[str]:
    listed = s3.client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return sorted(item["Key"] for item in listed)


def test_a_worker_that_sees_none_of_the_webs_files_scores_from_s3(
    s3, private_workers, tmp_path, truth_csv, good_predictions, client
):
    phase = PhaseFactory()
    services.truth_upload(phase=phase, upload=upload(truth_csv, "truth.csv"))
    assert any(key.startswith("private/truth/") for key in _keys(s3))

    elsewhere = tmp_path / "worker-host-var"  # the worker's own, empty data folder
    elsewhere.mkdir()
    private_workers.start(CHEETAH_VAR_DIR=str(elsewhere), **s3.env)
    participant = ParticipantFactory(team__challenge=phase.challenge)
    client.force_login(participant.user)
    client.post(
        reverse("competitions:submission-create", args=[phase.challenge.slug, phase.slug]),
        {"file": upload(good_predictions, "mine.csv")},
    )
    submission = Submission.objects.get(created_by=participant.user)
    scored = wait_for(
        lambda: Submission.objects.filter(pk=submission.pk, status=Submission.Status.SCORED)
        .first(), timeout=120, what="the worker to score the submission from S3",
    )
    assert scored.result["public"]["overall"]["auroc"]["value"] > 0.5

    keys = _keys(s3)
    assert f"private/{scored.file.name}" in keys
    assert f"private/{scored.case_scores.name}" in keys  # written by the worker, to S3
    assert not list(Path(elsewhere).rglob("*.csv")) and not list(Path(elsewhere).rglob("*.npy"))

    download = client.get(reverse("competitions:submission-file",
                                  args=[phase.challenge.slug, scored.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == good_predictions
