"""Worker CPU per submission: claim to leaderboard snapshot on the scoring queue, and the field
queue's analyses after it, for the demo-sized submission; before (a git revision) and after (this
checkout) in one run.

The demo as ``manage.py seed_demo`` builds it: the flchain cohort's test half (about 3,930 cases,
as the demo key draws them; public and private split), 200 resamples for the metric intervals,
three leaderboards (AUROC; mean rank of five columns; worst sex group), four submissions by three
teams. Each checkout runs in a fresh process of its own on a fresh SQLite database in a
temporary folder (migrate, seed_demo) with one demo key for both (the same cases and splits),
and Celery's in-memory broker: the tasks are called in the process by their names, in the order
the workers would run them, so nothing else shares the process's CPU time.

1. Warm-up: the demo's queued submissions are scored, ranked and analysed once (imports, numba's
   cache, the first parse of the ground truth: a worker pays these once, at its first task).
2. ``--repeats`` times: one demo submission (alice's gradient boosting) is queued again and
   - the scoring queue: ``score_submission`` (claim, score, release decision) and its follow-up
     ``refresh_phase_leaderboards`` (every board on both splits), timed together;
   - the field queue: ``analyse_leaderboard_snapshots`` (rank intervals and paired tests; inline
     in the refresh before, so absent there) and ``compute_phase_similarity``, each timed.

CPU is ``time.process_time()`` (user + system of this process, every thread); wall time beside it.

    .venv/bin/python benchmarks/worker_cpu.py                    # main against this checkout
    .venv/bin/python benchmarks/worker_cpu.py --before 4bc5b8a --repeats 9
    .venv/bin/python benchmarks/worker_cpu.py --profile          # + cProfile of the scoring path

The "before" checkout is ``git archive`` of the revision into a temporary folder (nothing in this
checkout or its .git changes). Results are in docs/benchmarks.md, "Worker CPU per submission".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCORE = "competitions.tasks.score_submission"
REFRESH = "competitions.tasks.refresh_phase_leaderboards"
ANALYSE = "competitions.tasks.analyse_leaderboard_snapshots"
SIMILARITY = "competitions.tasks.compute_phase_similarity"


def _timed(call) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    call()
    return time.process_time() - cpu, time.perf_counter() - wall


def measure(repeats: int, profile: bool) -> dict:
    """Run inside a checkout (the current directory) with its settings from the environment."""
    sys.path.insert(0, os.getcwd())
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)  # the demo's and the broker's INFO lines, not measured
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from cheetah.celery import app
    from competitions.models import Phase, Submission, SubmissionEvent
    from competitions.transitions import submission_transition

    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)
    app.loader.import_default_modules()
    tasks = app.tasks
    phase = Phase.objects.get(challenge__slug="flchain-mortality", slug="test")
    field_tasks = [name for name in (ANALYSE, SIMILARITY) if name in tasks]

    def scoring_queue(pk: int) -> None:
        tasks[SCORE](pk)
        version = Phase.objects.values_list("leaderboard_version", flat=True).get(pk=phase.pk)
        tasks[REFRESH](phase.pk, version)

    def field_queue(name: str) -> None:
        if name == SIMILARITY:
            tasks[name](phase.pk, requested_at=timezone.now().isoformat())
        else:
            tasks[name](phase.pk)

    queued = list(Submission.objects.filter(phase=phase, status="queued")
                  .order_by("pk").values_list("pk", flat=True))
    first = _timed(lambda: scoring_queue(queued[0]))
    for pk in queued[1:]:
        scoring_queue(pk)
    for name in field_tasks:
        field_queue(name)
    submission = Submission.objects.filter(phase=phase, description__startswith="Gradient").get()
    runs: dict[str, list] = {"scoring": [], **{name: [] for name in field_tasks}}
    profiler = None
    for repeat in range(repeats):
        with transaction.atomic():
            locked = Submission.objects.select_for_update().get(pk=submission.pk)
            submission_transition(locked, SubmissionEvent.Kind.REQUEUED, at=timezone.now(),
                                  detail="benchmark", deliveries=0, message="")
        if profile and repeat == repeats - 1:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        runs["scoring"].append(_timed(lambda: scoring_queue(submission.pk)))
        if profiler is not None:
            profiler.disable()
        assert Submission.objects.get(pk=submission.pk).status == "scored"
        for name in field_tasks:
            runs[name].append(_timed(lambda name=name: field_queue(name)))
    if profiler is not None:
        import pstats

        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    snapshots = phase.leaderboards.count() * (2 if phase.has_private_cases else 1)
    return {"first_scoring_cpu_s": first[0], "runs": runs, "snapshots": snapshots,
            "cases": phase.truth_n_cases,
            "resamples": phase.bootstrap_resamples}


def _child(checkout: Path, folder: Path, repeats: int, profile: bool) -> dict:
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "cheetah.settings", "DEBUG": "1",
        "SECRET_KEY": "benchmark-worker-cpu", "CHEETAH_VAR_DIR": str(folder),
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}", "CELERY_BROKER_URL": "memory://",
        "PYTHONPATH": str(checkout),
    }
    out = folder / "result.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", str(out),
               "--repeats", str(repeats)] + (["--profile"] if profile else [])
    subprocess.run(command, cwd=checkout, env=env, check=True)
    return json.loads(out.read_text())


def _archive(rev: str, folder: Path) -> Path:
    checkout = folder / "checkout"
    checkout.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(checkout)], input=archive, check=True)
    return checkout


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(label: str, result: dict) -> list[str]:
    lines = [f"{label}: {result['cases']} cases, {result['resamples']} resamples, "
             f"{result['snapshots']} snapshots; first scoring of the process "
             f"{result['first_scoring_cpu_s']:.2f} s CPU"]
    for name, runs in result["runs"].items():
        cpu = [c for c, _w in runs]
        wall = [w for _c, w in runs]
        title = "scoring queue (claim -> snapshot)" if name == "scoring" else (
            "field: " + name.rsplit(".", 1)[1])
        lines.append(f"  {title:<44} CPU median {_median(cpu):.3f} s (min {min(cpu):.3f}, "
                     f"max {max(cpu):.3f}); wall median {_median(wall):.3f} s")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="main", help="git revision to compare against")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--after-only", action="store_true", help="skip the before checkout")
    parser.add_argument("--json", type=Path, help="write both results here")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        args.measure.write_text(json.dumps(measure(args.repeats, args.profile)))
        return
    results = {}
    with tempfile.TemporaryDirectory(prefix="worker-cpu-") as tmp:
        folder = Path(tmp)
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.before],
                             check=True, capture_output=True, text=True).stdout.strip()
        before = folder / "before"
        before.mkdir()
        after = folder / "after"
        after.mkdir()
        # One demo key for both: the same case ids and splits (seed_demo draws them from it).
        key = os.urandom(32)
        for var in (before, after):
            (var / "demo.key").write_bytes(key)
        checkouts = [("after (this checkout)", ROOT, after)]
        if not args.after_only:
            checkouts.insert(0, (f"before ({args.before}, {rev})",
                                 _archive(args.before, before), before))
        for label, checkout, var in checkouts:
            results[label] = _child(checkout, var, args.repeats, args.profile)
    for label, result in results.items():
        print("\n".join(report(label, result)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
