"""Benchmark of leaderboard ranking robustness (issue 5).

1. ``compute_leaderboard`` with bootstrap robustness at S entries x N cases x B resamples
   (default 200 x 10,000 x 1,000), ranked by ``mean_rank`` on a threshold metric
   (sensitivity) and AUROC, from arrays already in memory: wall time and the process's peak
   resident memory (inputs included). The numba kernel is compiled (or loaded from its cache)
   by a small warm-up call first.
2. A straightforward peer on the first ``--peer-resamples`` resamples (default 10): for every
   resample, index the cases, score each entry with scikit-learn (``recall_score``,
   ``roc_auc_score``) and rank with ``scipy.stats.rankdata(method="min")``. Its time is
   extrapolated to B resamples, and its ranks are checked against the fast path's.

Run from the repository root:

    .venv/bin/python benchmarks/leaderboard.py

The data are synthetic: labels with a prevalence of 30 %, each entry's score a noisy copy of a
shared signal rounded to 3 decimals (so that scores tie, as real ones do).

3. The web leaderboard page with ``--teams`` (default 1,000) scored teams, from a fresh
   database (SQLite under a temporary folder, or ``DATABASE_URL``): the worker's snapshot
   computation (ranking every team's stored result), then ``--page-requests`` GETs of the page
   with Django's test client (median and 95th percentile latency, SQL queries per request). The
   peer is what the page would do without a snapshot: rank the stored results in the request
   (``competitions.worker.snapshots.rank_field``), timed the same way. With more teams than
   one page holds, the last page is timed too (``?page=``).

``--part robustness`` or ``--part page`` runs one part; ``--page-cache off`` times the page
with a dummy cache (every request renders its 200 rows, as the first one after a snapshot).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from scoring.field import Field  # noqa: E402
from scoring.leaderboard import compute_leaderboard  # noqa: E402
from scoring.weighted_stats import resample_weights  # noqa: E402

COLUMNS = ["sensitivity", "auroc"]


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_field(entries: int, cases: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels (N,) and scores (S x N) of a correlated field."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(cases) < 0.3).astype(np.int64)
    signal = labels + rng.normal(0.0, 0.6, cases)
    scores = np.empty((entries, cases))
    for i in range(entries):
        noisy = signal + rng.normal(0.0, rng.uniform(0.2, 1.0), cases)
        scores[i] = np.round(1.0 / (1.0 + np.exp(-(noisy - 0.5) * 4)), 3)
    return labels, scores


def peer_ranks(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """mean_rank on sensitivity and AUROC, one resample at a time, with scikit-learn and scipy."""
    from scipy.stats import rankdata
    from sklearn.metrics import recall_score, roc_auc_score

    ranks = []
    for w in weights:
        indices = np.repeat(np.arange(labels.size), w.astype(np.int64))
        y = labels[indices]
        values = np.array([
            [recall_score(y, score[indices] >= 0.5), roc_auc_score(y, score[indices])]
            for score in scores
        ])
        column_ranks = rankdata(-values, axis=0, method="min")
        ranks.append(rankdata(column_ranks.mean(axis=1), method="min"))
    return np.array(ranks)


def robustness(args: argparse.Namespace) -> None:
    """Part 1 and 2: the fast path at full size, then the peer on a few resamples."""
    labels, scores = synthetic_field(args.entries, args.cases, args.seed)
    names = [f"entry{i}" for i in range(args.entries)]
    compute_leaderboard(Field(names[:2], labels[:100], scores[:2, :100], {}, columns=COLUMNS,
                              ranking="mean_rank"), bootstrap=2)
    before = peak_rss_mib()
    start = time.perf_counter()
    result = compute_leaderboard(Field(names, labels, scores, {}, columns=COLUMNS,
                                       ranking="mean_rank"),
                                 bootstrap=args.resamples, seed=args.seed)
    elapsed = time.perf_counter() - start
    print(f"robustness, {args.entries} entries x {args.cases:,} cases x {args.resamples:,} "
          f"resamples, columns {', '.join(COLUMNS)}, mean_rank: {elapsed:.2f} s; peak RSS "
          f"{peak_rss_mib():,.0f} MiB (before the call {before:,.0f} MiB); mean Kendall tau "
          f"{result.kendall_tau:.3f}")
    if args.peer_resamples:
        weights = resample_weights(args.cases, range(args.peer_resamples), args.seed)
        start = time.perf_counter()
        peer = peer_ranks(labels, scores, weights)
        peer_time = time.perf_counter() - start
        extrapolated = peer_time / args.peer_resamples * args.resamples
        same = np.array_equal(peer, result.rank_samples[: args.peer_resamples])
        print(f"peer (scikit-learn + scipy per resample), {args.peer_resamples} resamples: "
              f"{peer_time:.1f} s, extrapolated to {args.resamples:,}: {extrapolated:,.0f} s; "
              f"ratio peer / fast {extrapolated / elapsed:,.0f}x; same ranks: {same}")


def page_latency(args: argparse.Namespace) -> None:
    """Part 3: the leaderboard page with many teams, from the snapshot vs ranked per request."""
    import statistics

    from benchmarks.webapp import fresh_webapp

    fresh_webapp()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from accounts.models import User
    from competitions.models import Challenge, Participant, Submission, Team
    from competitions.services import phase_create, phase_default_leaderboard
    from competitions.worker.snapshots import rank_field, snapshot_compute

    rng = np.random.default_rng(args.seed)
    now = timezone.now()
    challenge = Challenge.objects.create(title="Bench", slug="bench", status="published")
    phase = phase_create(challenge=challenge, name="Bench", slug="bench",
                         start=now - timezone.timedelta(days=1),
                         end=now + timezone.timedelta(days=1))
    board = phase_default_leaderboard(phase)
    n = args.page_entries
    users = User.objects.bulk_create(User(username=f"u{i}") for i in range(n))
    teams = Team.objects.bulk_create(Team(challenge=challenge, name=f"Team {i}") for i in range(n))
    Participant.objects.bulk_create(
        Participant(challenge=challenge, user=u, team=t, accepted_rules_at=now)
        for u, t in zip(users, teams, strict=True)
    )

    metrics = ("auroc", "accuracy", "sensitivity", "specificity")

    def result(value: float) -> dict:
        entry = {"value": value, "ci": [value - 0.02, value + 0.02]}
        groups = [{"attribute": "sex", "group": g, "n": 500, "small": False,
                   "metrics": dict.fromkeys(metrics, entry)} for g in ("female", "male")]
        return {"n_cases": 1000, "overall": dict.fromkeys(metrics, entry), "groups": groups,
                "fairness": {}}

    Submission.objects.bulk_create(
        Submission(phase=phase, team=t, created_by=u, file="x", original_name="x.csv",
                   status="scored", result={"public": result(float(v)), "private": None},
                   # Each team's only submission is its first: the ladder releases it.
                   released=True)
        for u, t, v in zip(users, teams, rng.uniform(0.5, 0.9, n), strict=True)
    )
    start = time.perf_counter()
    ranked = snapshot_compute(board, "public")
    print(f"page, {n:,} teams: the worker's snapshot (rank every stored result): "
          f"{time.perf_counter() - start:.2f} s")
    # An empty board would time an empty page.
    assert len(ranked.rows) == n, f"{len(ranked.rows)} of {n} teams on the board"
    client = Client(HTTP_HOST="localhost")
    url = reverse("competitions:leaderboard", args=["bench", "bench"])
    if args.page_cache == "off":
        # Every request renders its page, as a request does after a new snapshot.
        from django.test.utils import override_settings

        override_settings(CACHES={"default": {
            "BACKEND": "django.core.cache.backends.dummy.DummyCache"}}).enable()
    start = time.perf_counter()
    client.get(url)
    print(f"page, {n:,} teams, first request (renders page 1 of "
          f"{settings.LEADERBOARD_PAGE_ROWS} rows): {(time.perf_counter() - start) * 1000:.0f} ms")
    times = []
    for _ in range(args.page_requests):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    peer = []
    for _ in range(max(3, args.page_requests // 5)):
        start = time.perf_counter()
        rank_field(board, "public")
        peer.append(time.perf_counter() - start)
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 2 else times[0]
    print(f"page, {n:,} teams, {args.page_requests} requests, cache {args.page_cache}: median "
          f"{statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"{len(queries)} SQL queries per request ({connection.vendor}); peer (rank the "
          f"stored results in the request, before rendering): median "
          f"{statistics.median(peer) * 1000:.0f} ms")
    pages = -(-n // settings.LEADERBOARD_PAGE_ROWS)
    if pages > 1:
        last = []
        for _ in range(args.page_requests):
            start = time.perf_counter()
            response = client.get(f"{url}?page={pages}")
            last.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
        last_team = {t.pk: t.name for t in teams}[ranked.rows[-1]["team"]]
        assert last_team in response.content.decode(), f"{last_team} not on the last page"
        print(f"page {pages} of {pages}, {args.page_requests} requests, cache "
              f"{args.page_cache}: median {statistics.median(last) * 1000:.0f} ms, max "
              f"{max(last) * 1000:.0f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--resamples", type=int, default=1_000)
    parser.add_argument("--peer-resamples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--teams", "--page-entries", dest="page_entries", type=int,
                        default=1_000, help="teams on the board of part 3")
    parser.add_argument("--page-requests", type=int, default=30)
    parser.add_argument("--part", choices=["all", "robustness", "page"], default="all")
    parser.add_argument("--page-cache", choices=["on", "off"], default="on",
                        help="off: a dummy cache, so every request renders its page")
    args = parser.parse_args(argv)
    import numba
    import sklearn

    print(f"{platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
          f"scikit-learn {sklearn.__version__}, {os.cpu_count()} CPUs, numba threads "
          f"{numba.get_num_threads()}")
    if args.part in ("all", "robustness"):
        robustness(args)
    if args.part in ("all", "page"):
        page_latency(args)


if __name__ == "__main__":
    main()
