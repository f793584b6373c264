"""The similarity report's matrices live in a file, not in the database row: the row keeps
what the pages need, the file round-trips, and a replaced report's file is deleted."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.urls import reverse

from competitions.case_results import phase_case_matrix
from competitions.models import SimilarityReport, private_storage
from competitions.selectors import similarity as similarity_selectors
from competitions.similarity_arrays import similarity_arrays_read
from competitions.splits import split_mask
from competitions.worker.similarity import phase_similarity_compute
from scoring.similarity import MEASURES, similarity_report
from tests.competitions.test_similarity_pages import _add_team
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _nested_square(value, size: int) -> bool:
    """Whether a JSON value holds an S x S list of lists anywhere inside it."""
    if isinstance(value, dict):
        return any(_nested_square(v, size) for v in value.values())
    if isinstance(value, list):
        if len(value) == size and all(isinstance(r, list) and len(r) == size for r in value):
            return True
        return any(_nested_square(v, size) for v in value)
    return False


def test_the_row_holds_no_matrix_and_the_file_round_trips(field):
    phase, _scores = field
    report = phase_similarity_compute(phase=phase)[0]
    row = SimilarityReport.objects.filter(pk=report.pk).values().get()
    size = len(row["entries"])
    assert size == 3
    assert "report" not in row
    assert not any(_nested_square(value, size) for value in row.values())
    assert [g["group"] for g in row["groups"] if g["attribute"] == "sex"] == ["female", "male"]
    assert private_storage.size(row["arrays"]) == row["arrays_bytes"] > 0

    # The file against the scoring core's report computed here from the same stored arrays.
    ids = [entry["submission"] for entry in report.entries]
    matrix = phase_case_matrix(phase, ids)
    cases = split_mask(matrix.truth, "public")
    expected = similarity_report(
        [entry["team"] for entry in report.entries],
        matrix.decisions[:, cases], matrix.labels[cases], matrix.scores[:, cases],
        {name: values[cases] for name, values in sorted(matrix.attributes.items())},
    )
    stored = similarity_arrays_read(report)
    assert json.dumps(stored.to_json()) == json.dumps(expected)
    assert list(stored.measures) == list(MEASURES)


def test_a_new_report_deletes_the_file_of_the_one_it_replaces(
    field, demo_data, django_capture_on_commit_callbacks
):
    phase, _scores = field
    with django_capture_on_commit_callbacks(execute=True):
        first = phase_similarity_compute(phase=phase)[0]
    first_file = first.arrays.name
    assert private_storage.exists(first_file)

    # The same field again refreshes the row: a new file, the old one gone.
    with django_capture_on_commit_callbacks(execute=True):
        refreshed = phase_similarity_compute(phase=phase, full=True)[0]
    assert refreshed.pk == first.pk
    assert refreshed.arrays.name != first_file
    assert not private_storage.exists(first_file)

    # A new entry adds a row; the older row keeps its trend point and loses its file.
    creatinine = demo_data.test_features["creatinine"].fillna(1.0).to_numpy()
    _add_team(phase, demo_data, "Kidneys", creatinine)
    with django_capture_on_commit_callbacks(execute=True):
        latest = phase_similarity_compute(phase=phase)[0]
    assert latest.pk != first.pk
    older = SimilarityReport.objects.get(pk=first.pk)
    assert older.arrays.name == "" and older.arrays_bytes == 0
    assert older.mean_error_consistency is not None
    assert not private_storage.exists(refreshed.arrays.name)
    assert private_storage.exists(latest.arrays.name)
    assert similarity_arrays_read(older) is None

    # Deleting a report (an organiser's clean-up, a phase's cascade) deletes its file too.
    with django_capture_on_commit_callbacks(execute=True):
        SimilarityReport.objects.filter(phase=phase).delete()
    assert not private_storage.exists(latest.arrays.name)


def test_a_large_field_shows_a_corner_of_the_heatmap_and_says_so(client, field, monkeypatch):
    phase, _scores = field
    report = phase_similarity_compute(phase=phase)[0]
    monkeypatch.setattr(similarity_selectors, "HEATMAP_ENTRIES", 2)
    organiser = UserFactory(is_staff=True)
    phase.challenge.organisers.add(organiser)
    client.force_login(organiser)
    page = client.get(
        reverse("competitions:similarity", args=[phase.challenge.slug, phase.slug])
    ).content.decode()
    assert "The heatmaps show the first 2 of the 3 teams in that order." in page
    agreement = page.split("<h3>agreement</h3>")[1].split("</table>")[0]
    assert agreement.count('<th scope="row">') == 2
    first = [report.entries[i]["team"] for i in report.order][:2]
    assert [row.split("</th>")[0] for row in agreement.split('<th scope="row">')[1:]] == first
    assert page.count("<circle") == 3  # the map keeps every entry


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_the_latest_matrices_to_a_file_and_keeps_the_trend():
    from datetime import timedelta

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.utils import timezone

    before = ("competitions", "0022_phase_report")
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old = executor.loader.project_state([before]).apps
    now = timezone.now()
    challenge = old.get_model("competitions", "Challenge").objects.create(title="M", slug="m")
    phase = old.get_model("competitions", "Phase").objects.create(
        challenge=challenge, name="M", slug="m", start=now, end=now + timedelta(days=1)
    )
    document = similarity_report(
        ["a", "b"], np.array([[1, 0, 1, 1], [1, 1, 0, 1]]), np.array([1, 0, 0, 1]),
        np.array([[0.9, 0.2, 0.6, 0.8], [0.7, 0.6, 0.1, 0.9]]),
        {"sex": np.array(["f", "m", "f", "m"], dtype=object)},
    ) | {"basis": {"truth_uploaded_at": None}}
    entries = [{"submission": 1, "team": "a", "version": "x"},
               {"submission": 2, "team": "b", "version": "y"}]
    reports = old.get_model("competitions", "SimilarityReport").objects
    older = reports.create(phase=phase, split="public", entries=entries, report=document,
                           computed_at=now - timedelta(hours=1), mean_error_consistency=0.1)
    latest = reports.create(phase=phase, split="public", entries=entries, report=document,
                            computed_at=now, mean_error_consistency=0.2)

    executor.loader.build_graph()
    # 0024_similarity_arrays and every later migration: the models below are today's.
    executor.migrate(executor.loader.graph.leaf_nodes())
    older, latest = (SimilarityReport.objects.get(pk=r.pk) for r in (older, latest))
    assert older.arrays.name == "" and older.mean_error_consistency == 0.1
    assert latest.groups == [{"attribute": "sex", "group": "f", "n": 2},
                             {"attribute": "sex", "group": "m", "n": 2}]
    assert latest.basis == {"truth_uploaded_at": None}
    assert private_storage.size(latest.arrays.name) == latest.arrays_bytes
    assert json.dumps(similarity_arrays_read(latest).to_json()) == json.dumps(
        {key: value for key, value in document.items() if key != "basis"}
    )
    private_storage.delete(latest.arrays.name)
