"""A challenge's bundle names its study by slug (surveys answers competitions' hook), and an
import links no study: a study belongs to its researchers."""

from __future__ import annotations

import io
import zipfile

import pytest
import yaml

from competitions import services
from competitions.bundle_format import MANIFEST_NAME
from surveys.models import Study
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_bundle_names_the_study_and_the_import_leaves_it_where_it_was(study):
    bundle = services.bundle_export(study.challenge)
    manifest = yaml.safe_load(zipfile.ZipFile(io.BytesIO(bundle)).read(MANIFEST_NAME))
    assert manifest["study"] == study.slug
    summary = services.bundle_preview(io.BytesIO(bundle))
    assert summary.study == study.slug
    copy = services.bundle_import(io.BytesIO(bundle), user=UserFactory())
    assert Study.objects.get(pk=study.pk).challenge == study.challenge
    assert not copy.studies.exists()
