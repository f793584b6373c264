"""Benchmark of the challenge report (issue 19 item 3): a phase with 200 scored entries.

A fresh database (SQLite under a temporary folder, or ``DATABASE_URL``) gets the demo phase's
ground truth (flchain, 3,931 test cases, sex as the attribute, public and private splits) and
``--entries`` teams (default 200), each with a real predictions file — a noisy copy of the
demo's risk score, so entries are correlated and some tie — scored by the worker's own code
(``evaluation.submission_score``, the phase's 200 bootstrap resamples). The worker then ranks
the field (bootstrap robustness and the pairwise significance tests included) and computes its
similarity and ensembles, as after the last submission of a challenge.

Timed, for the organisers' report and for the public one (after the end): the report's context
(every selector), the HTML page, the PDF (WeasyPrint), the CSV tables (ZIP), and the whole
task (``build_phase_report``: the three, stored). The target is under 60 s for HTML and PDF.
The peer (``--uncut``) is the same report without the 30-entry cut of the pairwise tables:
every similarity table with all entries, as the report would be without the CSV beside it.

Run from the repository root:

    .venv/bin/python benchmarks/report.py [--entries 200] [--uncut]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, call):
    """Wall time and this process's CPU time (the report is single-threaded: on a machine
    shared with other work the CPU time is what an idle machine's wall time would be)."""
    start, cpu = time.perf_counter(), time.process_time()
    value = call()
    print(f"  {label}: {time.perf_counter() - start:.2f} s wall, "
          f"{time.process_time() - cpu:.2f} s CPU", flush=True)
    return value


def setup_field(entries: int, seed: int):
    """The phase, scored, ranked and compared; returns (phase, organiser)."""
    import pandas as pd
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from accounts.models import User
    from competitions import services
    from competitions.demo_data import load_demo_data
    from competitions.models import Challenge, Participant, Submission, Team
    from competitions.worker import evaluation
    from competitions.worker.analyses import phase_snapshots_analyse
    from competitions.worker.similarity import phase_similarity_compute
    from competitions.worker.snapshots import phase_leaderboards_refresh

    data = load_demo_data()
    now = timezone.now()
    challenge = Challenge.objects.create(title="Report bench", slug="bench", status="published")
    organiser = User.objects.create(username="organiser")
    challenge.organisers.add(organiser)
    phase = services.phase_create(challenge=challenge, name="Final", slug="final",
                                  start=now - timezone.timedelta(days=2),
                                  end=now + timezone.timedelta(days=1),
                                  release_policy="full", submissions_per_day=10)
    truth = data.truth.to_csv(index=False).encode()
    services.truth_upload(phase=phase, upload=ContentFile(truth, name="truth.csv"))
    features = data.test_features
    risk = ((features["age"] - 50) / 50 + (features["kappa"] + features["lambda"]) / 10).to_numpy()
    rng = np.random.default_rng(seed)
    users = User.objects.bulk_create(User(username=f"u{i}") for i in range(entries))
    teams = Team.objects.bulk_create(Team(challenge=challenge, name=f"Team {i:03d}")
                                     for i in range(entries))
    Participant.objects.bulk_create(
        Participant(challenge=challenge, user=u, team=t, accepted_rules_at=now)
        for u, t in zip(users, teams, strict=True))
    start = time.perf_counter()
    for i, (user, team) in enumerate(zip(users, teams, strict=True)):
        noisy = risk + rng.normal(0, 0.2 + 0.8 * i / entries, len(risk))
        scores = np.round(1 / (1 + np.exp(-(noisy - 1.0) * 3)), 3)
        frame = pd.DataFrame({"case_id": features["case_id"], "score": scores})
        submission = Submission.objects.create(
            phase=phase, team=team, created_by=user, original_name="p.csv",
            file=ContentFile(frame.to_csv(index=False).encode(), name="p.csv"))
        evaluation.submission_score(evaluation.submission_claim(submission.pk))
    print(f"  scoring {entries} submissions ({len(risk):,} cases, "
          f"{phase.bootstrap_resamples} resamples each): {time.perf_counter() - start:.1f} s",
          flush=True)
    timed("ranking (every board, both splits)", lambda: phase_leaderboards_refresh(phase))
    # The rank intervals and the paired tests are the field queue's work since they left the
    # scoring path (competitions.worker.analyses): run here as the field worker would.
    timed("robustness and significance (the field queue's analyses)",
          lambda: phase_snapshots_analyse(phase))
    timed("similarity and ensembles (full)", lambda: phase_similarity_compute(phase=phase,
                                                                              full=True))
    return phase, organiser


def time_report(phase, user, label: str, *, uncut: bool = False) -> None:
    from competitions.presentation.report_tables import report_tables_zip
    from competitions.report import build

    print(f"{label}:", flush=True)
    if uncut:
        build.PDF_ENTRIES = 10**9
    try:
        context = timed("context (selectors)", lambda: build.report_context(phase, user))
        html = timed("HTML page", lambda: build.report_page(context))
        pdf = timed("PDF (WeasyPrint)", lambda: build.report_pdf(html))
        tables = timed("CSV tables (ZIP)", lambda: report_tables_zip(context))
    finally:
        build.PDF_ENTRIES = build.SIGNIFICANCE_MAP_ENTRIES
    print(f"  sizes: HTML {len(html) / 1e6:.2f} MB, PDF {len(pdf) / 1e6:.2f} MB "
          f"({_pages(pdf)} pages), tables {len(tables) / 1e6:.2f} MB; "
          f"{len(context['table']['rows'])} entries", flush=True)


def _pages(pdf: bytes) -> str:
    """The PDF's page count by poppler's pdfinfo, when installed."""
    if shutil.which("pdfinfo") is None:
        return "?"
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=False).stdout
    line = next((x for x in info.decode().splitlines() if x.startswith("Pages:")), "Pages: ?")
    return line.split()[-1]


def time_task(phase, audience: str, user) -> None:
    from competitions.models import PhaseReport
    from competitions.report.keys import report_key
    from competitions.report.tasks import build_phase_report

    key = report_key(phase)
    report = PhaseReport.objects.create(phase=phase, audience=audience, requested_by=user,
                                        snapshot_version=key.snapshot_version, inputs=key.inputs)
    result = timed(f"the whole task for the {audience} (build_phase_report, files stored)",
                   lambda: build_phase_report(report.pk))
    assert result == "ready", result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--uncut", action="store_true",
                        help="also time the report without the 30-entry cut (the peer)")
    parser.add_argument("--keep", default="",
                        help="a folder for the database and files: a field set up there by an "
                             "earlier run is reused (the set-up takes minutes)")
    args = parser.parse_args(argv)
    folder = args.keep or tempfile.mkdtemp(prefix="cheetah-report-bench-")
    reuse = os.path.exists(os.path.join(folder, "bench.sqlite3"))
    os.environ.setdefault("DEBUG", "1")
    os.environ["CHEETAH_VAR_DIR"] = folder
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cheetah.settings")
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)
    import weasyprint
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    print(f"Python {platform.python_version()}, WeasyPrint {weasyprint.__version__}, "
          f"{os.cpu_count()} CPUs, {connection.vendor}", flush=True)
    from competitions.models import Phase

    if reuse and Phase.objects.filter(slug="final").exists():
        phase = Phase.objects.get(slug="final")
        organiser = phase.challenge.organisers.get()
        phase.end = timezone.now() + timezone.timedelta(days=1)
        phase.save()
        phase.reports.all().delete()
        print(f"Reusing the field in {folder}", flush=True)
    else:
        print(f"Setting up {args.entries} entries in {folder}:", flush=True)
        phase, organiser = setup_field(args.entries, args.seed)
    time_report(phase, organiser, "Organisers' report")
    time_task(phase, "organisers", organiser)
    if args.uncut:
        time_report(phase, organiser, "Peer: organisers' report without the 30-entry cut",
                    uncut=True)
    phase.end = timezone.now() - timezone.timedelta(minutes=1)
    phase.save()
    from django.contrib.auth.models import AnonymousUser

    time_report(phase, AnonymousUser(), "Public report (after the end)")
    time_task(phase, "public", None)
    print(f"peak RSS {peak_rss_mib():.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
