"""The upload page and the API are one upload path: same fields, same refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from competitions.models import FactSheet, Phase, Submission
from tests.conftest import upload

FACT_SHEET = {"external_data": "MIMIC-IV, v2.2", "training_hours": "2.5",
              "inference_hours": "0.25", "hardware": "nvidia-a100-pcie", "devices": "2"}


def _page(client, participant, phase, fields: dict):
    client.force_login(participant.user)
    url = reverse("competitions:submission-create", args=[phase.challenge.slug, phase.slug])
    return client.post(url, fields, HTTP_ACCEPT="application/json")


def _api(participant, phase, fields: dict):
    api = APIClient()
    api.force_authenticate(participant.user)
    url = reverse("api:submission-create", args=[phase.challenge.slug, phase.slug])
    return api.post(url, fields, format="multipart")


@pytest.fixture
def both(client, open_phase, participant):
    """Post the same fields through the page's JSON branch and through the API."""

    def post(fields_for):
        return (_page(client, participant, open_phase, fields_for()),
                _api(participant, open_phase, fields_for()))

    return post


def test_page_and_api_store_the_same_fact_sheet(both, good_predictions):
    page, api = both(lambda: {"file": upload(good_predictions), **FACT_SHEET})
    assert (page.status_code, api.status_code) == (201, 201), (page.content, api.content)
    sheets = list(
        FactSheet.objects.order_by("submission__created_at", "submission__pk").values(
            "external_data", "training_hours", "inference_hours", "hardware", "devices")
    )
    assert len(sheets) == 2
    assert sheets[0] == sheets[1] == {
        "external_data": "MIMIC-IV, v2.2", "training_hours": 2.5, "inference_hours": 0.25,
        "hardware": "nvidia-a100-pcie", "devices": 2,
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "file"),
        ({"training_hours": "3"}, None),  # compute given in part: a problem of the whole form
        ({"devices": "0"}, "devices"),
    ],
)
def test_page_and_api_refuse_bad_fields_in_the_same_shape(both, good_predictions, fields,
                                                          field):
    def fields_for():
        return ({"file": upload(good_predictions)} if field != "file" else {}) | fields

    page, api = both(fields_for)
    assert (page.status_code, api.status_code) == (400, 400)
    assert page.json() == api.json()
    assert page.json()["errors"]
    assert list(page.json()["fields"]) == ([field] if field else [])
    assert not Submission.objects.exists()


def test_page_and_api_refuse_a_late_upload_in_the_same_shape(both, open_phase, good_predictions):
    Phase.objects.filter(pk=open_phase.pk).update(
        start=timezone.now() - timedelta(days=3), end=timezone.now() - timedelta(days=1)
    )
    page, api = both(lambda: {"file": upload(good_predictions)})
    assert (page.status_code, api.status_code) == (400, 400)
    assert page.json() == api.json()
    assert page.json()["fields"] == {}
    assert "it takes no more submissions" in page.json()["errors"][0]
    assert not Submission.objects.exists()
