"""The worker on a second host: its own network namespace, reached over a veth pair, with its
own mount namespace in which the web's folders are an empty tmpfs. Redis, PostgreSQL and S3 are
services this test starts, bound to the host side of the veth; the web (gunicorn, in this
namespace) and the worker (in the other) share nothing but those three addresses.

A participant logs in and uploads through the web's real pages; the worker on the other host
scores it and re-ranks the leaderboard; the web then shows it. Both sides reach PostgreSQL
through psycopg's connection pool (DATABASE_POOL=1).

Why a mount namespace rather than another Unix user: the worker runs the same checkout and
virtualenv as the web (as two hosts deployed from one image would), which another user would
have to be given access to; a tmpfs over the test's folder hides the web's files, the database's
socket and data completely (an empty folder, not "permission denied"), so any code that still
reached for a local file the web wrote would fail here.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import boto3
import psycopg
import pytest
import requests
from django.urls import reverse
from moto.server import ThreadedMotoServer

from competitions.models import LeaderboardSnapshot, Submission
from tests.e2e.hosts import (
    NetworkNamespace,
    PostgresCluster,
    RedisServer,
    postgres_bin,
    required,
    stop,
    wait_until,
)

pytestmark = [pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "cheetah-second-host"
MARKER = "only-on-the-web-host"

# The web's side, in one process: the migrations, then a phase with its ground truth (to S3)
# and a participant who may upload.
SETUP = """
import json, sys
import django
django.setup()
from django.core.files.base import ContentFile
from django.core.management import call_command
call_command("migrate", verbosity=0)
from competitions import services
from tests.factories import ParticipantFactory, PhaseFactory

phase = PhaseFactory()
with open(sys.argv[1], "rb") as truth:
    services.truth_upload(phase=phase, upload=ContentFile(truth.read(), name="truth.csv"))
participant = ParticipantFactory(team__challenge=phase.challenge)
print(json.dumps({"challenge": phase.challenge.slug, "phase": phase.slug, "phase_id": phase.pk,
                  "username": participant.user.username, "team": participant.team.name}))
"""
PASSWORD = "secret-pass-123"  # tests.factories.UserFactory's


def _free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


@dataclass
class Deployment:
    network: NetworkNamespace
    database: PostgresCluster
    web_url: str
    web_var: Path
    worker: subprocess.Popen
    s3: object  # a boto3 client on the test's S3 server
    folder: Path
    setup: SimpleNamespace  # the phase and participant the web side made

    def sql(self, query: str, *params):
        with psycopg.connect(self.database.url("cheetah")) as conn:
            return conn.execute(query, params).fetchall()


def _preflight() -> Path:
    required(sys.platform == "linux" and os.geteuid() == 0,
             "the second-host test needs root on Linux (network and mount namespaces)")
    for tool, package in (("ip", "iproute2"), ("unshare", "util-linux"),
                          ("mount", "mount"), ("redis-server", "redis-server")):
        required(shutil.which(tool) is not None, f"{tool} is not installed ({package})")
    binaries = postgres_bin()
    required(binaries is not None and (binaries / "pg_ctl").exists(),
             "the PostgreSQL server binaries are not installed (/usr/lib/postgresql/*/bin)")
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        required(False, "there is no postgres user to run initdb as")
    return binaries


def _service_env(database, redis_server, endpoint, var_dir) -> dict[str, str]:
    """One deployment's settings, identical for the web and the worker."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cheetah.settings",
        "DEBUG": "1",
        "DATABASE_URL": database.url("cheetah"),
        "DATABASE_POOL": "1",
        "DATABASE_POOL_MAX_SIZE": "2",
        "CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": redis_server.url(0),
        "REDIS_URL": redis_server.url(1),
        "CELERY_QUEUE": "cheetah",
        "CHEETAH_VAR_DIR": str(var_dir),
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def deployment(truth_csv) -> Iterator[Deployment]:
    binaries = _preflight()
    with ExitStack() as cleanup:
        folder = Path(tempfile.mkdtemp(prefix="cheetah-second-host-"))
        folder.chmod(0o755)  # the postgres user enters it to reach its cluster's folder
        cleanup.callback(shutil.rmtree, folder, ignore_errors=True)

        network = NetworkNamespace()
        cleanup.callback(network.destroy)
        network.create()
        address = network.host_address

        redis_server = RedisServer(address=address, port=_free_port(address), folder=folder)
        cleanup.callback(redis_server.stop)
        redis_server.start()

        database = PostgresCluster(binaries=binaries, address=address,
                                   port=_free_port(address), folder=folder / "postgres")
        cleanup.callback(database.stop)
        database.start(database="cheetah")

        moto = ThreadedMotoServer(ip_address=address, port=_free_port(address), verbose=False)
        moto.start()
        cleanup.callback(moto.stop)
        endpoint = f"http://{address}:{moto._server.server_port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket=BUCKET)

        web_var = folder / "web-var"
        web_var.mkdir(mode=0o700)
        (web_var / MARKER).write_text("the web's own files\n")
        env = _service_env(database, redis_server, endpoint, web_var)

        web_port = _free_port("127.0.0.1")
        with open(folder / "web.log", "ab") as log:
            web = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "cheetah.wsgi:application", "--bind",
                 f"127.0.0.1:{web_port}", "--workers", "1", "--timeout", "60"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        cleanup.callback(stop, web)

        # The worker: in the other network namespace, in a mount namespace of its own where
        # the test's folder (the web's var/, the database's files and socket) is an empty
        # tmpfs; its var folder has the web's path, as the same settings on another host would.
        celery = [sys.executable, "-m", "celery", "-A", "cheetah", "worker", "--pool=prefork",
                  "--concurrency=1", "--loglevel=INFO", "-Q", "cheetah,cheetah.field",
                  "--without-gossip", "--without-mingle", "--without-heartbeat"]
        inside = (f"mount -t tmpfs -o size=256m,mode=755 second-host {shlex.quote(str(folder))}"
                  f" && mkdir -p {shlex.quote(str(web_var))} && exec {shlex.join(celery)}")
        worker_log = folder / "worker.log"
        with open(worker_log, "ab") as log:
            worker = subprocess.Popen(
                ["ip", "netns", "exec", network.name, "unshare", "--mount",
                 "--propagation", "private", "sh", "-c", inside],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        cleanup.callback(_stop_worker, worker)

        # Migrate and make the phase while gunicorn and the worker load (neither touches the
        # database before its first request or task).
        run = {"cwd": ROOT, "env": env, "capture_output": True, "text": True}
        truth = folder / "truth.csv"
        truth.write_bytes(truth_csv)
        made = subprocess.run([sys.executable, "-c", SETUP, str(truth)], **run)
        assert made.returncode == 0, made.stderr[-3000:]
        truth.unlink()
        setup = json.loads(made.stdout.strip().splitlines()[-1])

        def ready(process: subprocess.Popen, check, what: str, log: Path):
            def probe() -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"{what} exited:\n{log.read_text()[-3000:]}")
                return check()
            wait_until(probe, timeout=60, what=what)

        def web_answers() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{web_port}/", timeout=10).status_code < 500
            except requests.RequestException:  # not listening yet, or still loading
                return False

        ready(web, web_answers, "the web (gunicorn)", folder / "web.log")
        ready(worker, lambda: "ready." in worker_log.read_text(errors="replace"),
              "the worker on the second host", worker_log)
        deployment = Deployment(network=network, database=database,
                                web_url=f"http://127.0.0.1:{web_port}", web_var=web_var,
                                worker=worker, s3=s3, folder=folder,
                                setup=SimpleNamespace(**setup))
        try:
            yield deployment
        finally:
            if os.environ.get("CHEETAH_KEEP_LOGS"):
                for name in ("web.log", "worker.log"):
                    print(f"--- {name}\n{(folder / name).read_text(errors='replace')[-4000:]}")


def _stop_worker(worker: subprocess.Popen) -> None:
    """Celery's cold shutdown (SIGQUIT): the pool's children end at once, not after the task
    under way; everything it was writing to is thrown away next."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGQUIT)
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            stop(worker, timeout=5)


def _login(web: str, username: str) -> requests.Session:
    session = requests.Session()
    login = web + reverse("login")
    session.get(login, timeout=10).raise_for_status()
    response = session.post(login, timeout=10, data={
        "username": username, "password": PASSWORD,
        "csrfmiddlewaretoken": session.cookies["csrftoken"],
    })
    assert "sessionid" in session.cookies, response.text[:2000]
    return session


def test_a_worker_on_a_second_host_scores_what_the_web_received(deployment, good_predictions):
    started = time.monotonic()
    setup = deployment.setup
    pid = deployment.worker.pid

    # The worker is elsewhere: another network and mount namespace, from which the machine's
    # own loopback services (the shared PostgreSQL on 127.0.0.1:5432) cannot be reached, and in
    # which the web's data folder is empty.
    for kind in ("net", "mnt"):
        assert os.readlink(f"/proc/{pid}/ns/{kind}") != os.readlink(f"/proc/self/ns/{kind}")
    assert (deployment.web_var / MARKER).exists()
    assert os.listdir(f"/proc/{pid}/root{deployment.web_var}") == []
    probe = subprocess.run(
        ["ip", "netns", "exec", deployment.network.name, sys.executable, "-c",
         "import socket; socket.create_connection(('127.0.0.1', 5432), timeout=2)"],
        capture_output=True, text=True,
    )
    assert probe.returncode != 0 and "Connection refused" in probe.stderr

    # A participant uploads through the web's pages.
    session = _login(deployment.web_url, setup.username)
    submit = deployment.web_url + reverse("competitions:submission-create",
                                          args=[setup.challenge, setup.phase])
    form = session.get(submit, timeout=10)
    assert form.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    response = session.post(
        submit, timeout=30, allow_redirects=False,
        data={"csrfmiddlewaretoken": token, "description": "from the web host"},
        files={"file": ("mine.csv", good_predictions, "text/csv")},
    )
    assert response.status_code == 302, response.text[:3000]

    table = Submission._meta.db_table

    def scored():
        rows = deployment.sql(f"select id, status, message, result, file, case_scores "
                              f"from {table} where phase_id = %s", setup.phase_id)
        return rows[0] if rows and rows[0][1] in ("scored", "failed") else None

    wait_until(lambda: scored() is not None, timeout=45,
               what="the worker on the second host to score the upload")
    pk, status, message, result, file_name, case_scores = scored()
    assert status == "scored", message
    auroc = result["public"]["overall"]["auroc"]["value"]
    assert auroc > 0.5

    # The leaderboard snapshot the worker wrote ranks it first.
    snapshots = LeaderboardSnapshot._meta.db_table
    leaderboards = LeaderboardSnapshot._meta.get_field("leaderboard").related_model._meta.db_table

    def snapshot():
        return deployment.sql(
            f"select s.rows from {snapshots} s join {leaderboards} l on l.id = s.leaderboard_id "
            "where l.phase_id = %s and s.split = 'public' and s.rows -> 0 ->> 'submission' = %s",
            setup.phase_id, str(pk),
        )

    wait_until(lambda: bool(snapshot()), timeout=30,
               what="the worker to write the leaderboard snapshot")
    board = session.get(deployment.web_url + reverse(
        "competitions:leaderboard", args=[setup.challenge, setup.phase]), timeout=10).text
    assert setup.team in board and f"{auroc:.3f}" in board

    # Both files went through S3, the per-case arrays written by the worker.
    keys = {item["Key"] for item in
            deployment.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    assert f"private/{file_name}" in keys and f"private/{case_scores}" in keys
    assert not list(deployment.web_var.rglob("*.csv"))

    # The worker's database connections came over the veth, from the second host's address
    # (the server logs each connection: the worker's pool may have closed them by now).
    guest = deployment.network.guest_address
    assert f"connection received: host={guest}" in deployment.database.log()
    print(f"second host: upload to snapshot in {time.monotonic() - started:.1f} s")

