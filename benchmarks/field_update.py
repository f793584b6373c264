"""Benchmark of the web app's field update after a new submission (issue 6).

1. Reading one entry's per-case results: parsing and validating its CSV (``read_predictions``)
   against loading the stored ``.npy`` array (what ``competitions.case_results`` does).
2. The similarity matrices after one new entry joins a field of S entries: the full recompute
   (``similarity_matrices``) against the update (``updated_similarity_matrices``: one row),
   and the largest difference between the two.
3. The same for the whole report, overall and per subgroup (``similarity_report`` against
   ``updated_similarity_report``) on a smaller field, JSON conversion included.
4. ``--part worker``: the web app's worker at field scale, from a fresh database (SQLite under a
   temporary folder, or ``DATABASE_URL``; files in the private storage): ``--entries`` teams
   (default 1,000) with one scored submission each over ``--cases`` cases (default 100,000)
   with 4 subgroups, their per-case arrays stored as the worker stores them. It times the first
   report (``phase_similarity_compute``: every row), then one new entry's update (after the
   leaderboard snapshot that precedes it, as in production) with a breakdown, the stored
   report's size (the ``.npz`` file and the row) against the JSON document the row used to
   hold (its size, and the time to write and read it as JSON against the file), and the
   similarity page (server time with Django's test client, organiser, all cases and one
   subgroup).

Run from the repository root:

    .venv/bin/python benchmarks/field_update.py                 # parts 1-3
    .venv/bin/python benchmarks/field_update.py --part worker   # part 4

Synthetic data as in benchmarks/similarity.py (prevalence 30 %, correlated entries).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from benchmarks.similarity import synthetic_field  # noqa: E402
from scoring.io import read_predictions, read_truth  # noqa: E402
from scoring.similarity import (  # noqa: E402
    MEASURES,
    matrix_to_json,
    similarity_matrices,
    similarity_report,
    updated_similarity_matrices,
    updated_similarity_report,
)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def reading(labels: np.ndarray, scores: np.ndarray) -> None:
    ids = np.array([f"c{i:07d}" for i in range(len(labels))], dtype=object)
    truth_csv = pd.DataFrame({"case_id": ids, "label": labels}).to_csv(index=False).encode()
    truth = read_truth(io.BytesIO(truth_csv))
    order = np.random.default_rng(1).permutation(len(ids))
    csv = pd.DataFrame({"case_id": ids[order], "score": np.round(scores[order], 6)})
    csv_bytes = csv.to_csv(index=False).encode()
    _predictions, parse = timed(read_predictions, io.BytesIO(csv_bytes), truth)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "scores.npy")
        np.save(path, scores)
        _array, load = timed(np.load, path)
    print(
        f"one entry, N={len(labels)}: parse CSV {parse:.3f} s "
        f"({len(csv_bytes) / 1e6:.1f} MB), load .npy {load * 1000:.1f} ms "
        f"({scores.nbytes / 1e6:.1f} MB), ratio {parse / load:.0f}x"
    )


def matrices(labels, scores, decisions) -> None:
    size = decisions.shape[0]
    previous = similarity_matrices(decisions[:-1], labels, scores[:-1])
    full, full_time = timed(similarity_matrices, decisions, labels, scores)
    reuse = [*range(size - 1), None]
    update, update_time = timed(
        updated_similarity_matrices, decisions, labels, scores, previous, reuse
    )
    difference = max(float(np.nanmax(np.abs(full[m] - update[m]))) for m in MEASURES)
    print(
        f"matrices, S={size} x N={len(labels)}, one new entry: full {full_time:.2f} s, "
        f"update {update_time:.2f} s, ratio {full_time / update_time:.0f}x, "
        f"largest difference {difference:.1e}"
    )


def report(labels, scores, decisions, groups) -> None:
    size = decisions.shape[0]
    names = [f"e{i}" for i in range(size)]
    attributes = {"group": groups}
    previous = similarity_report(names[:-1], decisions[:-1], labels, scores[:-1], attributes)
    _full, full_time = timed(similarity_report, names, decisions, labels, scores, attributes)
    _update, update_time = timed(
        updated_similarity_report, names, decisions, labels, scores, attributes,
        previous=previous, reuse=[*range(size - 1), None],
    )
    print(
        f"report with {len(set(groups))} subgroups, S={size} x N={len(labels)}, one new entry: "
        f"full {full_time:.2f} s, update {update_time:.2f} s, "
        f"ratio {full_time / update_time:.0f}x"
    )


class Stopwatch:
    """Cumulative wall time of named functions, wrapped in place on their modules."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, module, name: str, label: str | None = None) -> None:
        original = getattr(module, name)

        def timed_call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label or name] += time.perf_counter() - start

        setattr(module, name, timed_call)

    def report(self) -> str:
        text = ", ".join(f"{name} {value:.2f} s" for name, value in self.seconds.items())
        self.seconds.clear()
        return text


def worker(args: argparse.Namespace) -> None:
    """Part 4: the worker's similarity at field scale, its stored size, and the page."""
    from benchmarks.webapp import fresh_webapp

    fresh_webapp()
    from django.core.files.base import ContentFile
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    import competitions.worker.similarity as worker_similarity
    from accounts.models import User
    from competitions.case_results import CaseArrays, case_results_write
    from competitions.models import (
        Challenge,
        Participant,
        SimilarityReport,
        Submission,
        Team,
        private_storage,
    )
    from competitions.services import phase_create
    from competitions.similarity_arrays import similarity_arrays_read
    from competitions.standings import primary_board
    from competitions.worker.snapshots import snapshot_compute

    size, n = args.entries, args.cases
    labels, scores, decisions = synthetic_field(size + 1, n, args.seed)
    groups = np.random.default_rng(args.seed).choice(["a", "b", "c", "d"], size=n)
    now = timezone.now()
    challenge = Challenge.objects.create(title="Bench", slug="bench", status="published")
    phase = phase_create(challenge=challenge, name="Bench", slug="bench",
                         start=now - timezone.timedelta(days=1),
                         end=now + timezone.timedelta(days=1))
    truth = pd.DataFrame({"case_id": [f"c{i:07d}" for i in range(n)], "label": labels,
                          "group": groups}).to_csv(index=False)
    phase.ground_truth.save("truth.csv", ContentFile(truth.encode()), save=False)
    phase.truth_uploaded_at = now
    phase.save()
    board = primary_board(phase)
    metrics = ("auroc", "accuracy", "sensitivity", "specificity")

    def add_entries(first: int, stop: int) -> None:
        users = User.objects.bulk_create(User(username=f"u{i}") for i in range(first, stop))
        teams = Team.objects.bulk_create(
            Team(challenge=challenge, name=f"Team {i}") for i in range(first, stop))
        Participant.objects.bulk_create(
            Participant(challenge=challenge, user=u, team=t, accepted_rules_at=now)
            for u, t in zip(users, teams, strict=True))
        for i, user, team in zip(range(first, stop), users, teams, strict=True):
            value = {"value": float(np.mean(decisions[i] == labels)), "ci": None}
            result = {"n_cases": n, "overall": dict.fromkeys(metrics, value), "groups": [],
                      "fairness": {}}
            submission = Submission.objects.create(
                phase=phase, team=team, created_by=user, file="x", original_name="x.csv",
                status="scored", result={"public": result, "private": None}, released=True)
            names = case_results_write(submission, CaseArrays(
                scores=scores[i], decisions=decisions[i].astype(np.int8)))
            Submission.objects.filter(pk=submission.pk).update(**names)

    start = time.perf_counter()
    add_entries(0, size)
    snapshot_compute(board, "public")
    print(f"worker, setup: {size:,} submissions with stored arrays, N={n:,} cases: "
          f"{time.perf_counter() - start:.1f} s ({connection.vendor})")

    watch = Stopwatch()
    for name in ("phase_case_matrix", "similarity_arrays", "updated_similarity_arrays",
                 "similarity_arrays_read", "similarity_arrays_write", "clustered_order",
                 "mds_embedding", "_store", "_ensembles"):
        watch.wrap(worker_similarity, name)
    # The first report's ensembles are skipped: they cost what the update's do (below).
    ensembles = worker_similarity._ensembles
    worker_similarity._ensembles = lambda *args: {}
    start = time.perf_counter()
    first = worker_similarity.phase_similarity_compute(phase=phase)[0]
    print(f"worker, first report (every row), S={size:,} x N={n:,}, overall + "
          f"{len(first.groups)} subgroups, ensembles skipped: {time.perf_counter() - start:.1f} s "
          f"(rows computed {first.rows_computed}; {watch.report()})")
    worker_similarity._ensembles = ensembles

    add_entries(size, size + 1)
    start = time.perf_counter()
    snapshot_compute(board, "public")
    snapshot_time = time.perf_counter() - start
    start = time.perf_counter()
    report = worker_similarity.phase_similarity_compute(phase=phase)[0]
    print(f"worker, one new entry: snapshot {snapshot_time:.2f} s, similarity update "
          f"{time.perf_counter() - start:.1f} s (rows computed {report.rows_computed} of "
          f"{len(report.entries)}; {watch.report()})")

    row = SimilarityReport.objects.filter(pk=report.pk).values().get()
    row_bytes = sum(len(json.dumps(value, default=str)) for value in row.values())
    arrays = similarity_arrays_read(report)
    # The JSON document the row held before (``scoring.similarity.similarity_report`` plus the
    # basis), written and read group by group so that only one group's lists live at a time.
    json_bytes = json_write = json_read = 0.0
    parts = [arrays.measures, *(g.measures for g in arrays.groups)]
    for part in parts:
        start = time.perf_counter()
        text = json.dumps({k: matrix_to_json(v) for k, v in part.items()})
        json_write += time.perf_counter() - start
        json_bytes += len(text)
        start = time.perf_counter()
        {k: np.array(v, dtype=float) for k, v in json.loads(text).items()}
        json_read += time.perf_counter() - start
        del text
    start = time.perf_counter()
    similarity_arrays_read(report)
    file_read = time.perf_counter() - start
    start = time.perf_counter()
    name, _bytes = worker_similarity.similarity_arrays_write(phase, "public", arrays)
    file_write = time.perf_counter() - start
    private_storage.delete(name)
    file_bytes = row["arrays_bytes"]
    print(f"stored report, S={len(report.entries):,}, overall + {len(arrays.groups)} "
          f"subgroups: before (JSON in the row) {json_bytes / 1e6:,.1f} MB, write "
          f"{json_write:.2f} s, read {json_read:.2f} s; after: file {file_bytes / 1e6:,.1f} MB "
          f"(write {file_write:.2f} s, read {file_read:.2f} s) + row {row_bytes / 1e3:,.0f} kB;"
          f" ratio {json_bytes / file_bytes:.1f}x")
    files = SimilarityReport.objects.exclude(arrays="").count()
    print(f"reports with a file: {files} of {SimilarityReport.objects.count()} "
          f"(older versions' files deleted)")

    organiser = User.objects.create(username="organiser", is_staff=True)
    challenge.organisers.add(organiser)
    client = Client(HTTP_HOST="localhost")
    client.force_login(organiser)
    url = reverse("competitions:similarity", args=["bench", "bench"])
    for query in ("", "?group=group%3Da"):
        times = []
        for _ in range(args.page_requests):
            start = time.perf_counter()
            response = client.get(url + query)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
        p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 2 else times[0]
        print(f"similarity page, organiser, {query or 'all cases'}: median "
              f"{statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
              f"({args.page_requests} requests, {len(response.content) / 1e6:.1f} MB of HTML)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--report-entries", type=int, default=200)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--part", choices=["core", "worker"], default="core")
    parser.add_argument("--page-requests", type=int, default=10)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs")
    if args.part == "worker":
        worker(args)
        return
    labels, scores, decisions = synthetic_field(args.entries, args.cases, args.seed)
    reading(labels, scores[0])
    matrices(labels, scores, decisions)
    groups = np.random.default_rng(args.seed).choice(["a", "b", "c", "d"], size=args.cases)
    subset = slice(0, args.report_entries)
    report(labels, scores[subset], decisions[subset], groups)


if __name__ == "__main__":
    main()
