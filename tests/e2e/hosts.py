"""A second host on this machine, for the multi-host end-to-end test: a network namespace joined
to this one by a veth pair, and the services a deployment spreads over hosts, each started by the
test and bound to the host side of the veth (a private redis-server, a private PostgreSQL cluster
from ``initdb``/``pg_ctl``, moto's S3 server). Nothing here uses the machine's shared PostgreSQL
or Redis.

Needs root (namespaces, veth, ``mount``), iproute2, util-linux's ``unshare``, redis-server and the
PostgreSQL server binaries. Without them the test is skipped on a laptop and fails in CI
(``CHEETAH_REQUIRE_SERVICES=1`` or ``CI=true``).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

SUBNET_PREFIX = "10.231"


def required(condition: bool, message: str) -> None:
    """A missing piece fails the test in CI and skips it elsewhere, with the reason."""
    if condition:
        return
    if os.environ.get("CHEETAH_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries of the distribution (/usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


def run(*command: str, **options) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **options)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n"
                             f"{result.stdout}{result.stderr}")
    return result


def wait_until(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def _used_subnets() -> set[str]:
    text = run("ip", "-4", "-o", "addr", "show").stdout
    return {part.split("/")[0].rsplit(".", 1)[0] for part in text.split() if part.count(".") == 3}


@dataclass
class NetworkNamespace:
    """``ip netns add`` and a veth pair: ``host_address`` on this side, ``guest_address`` in the
    namespace. A random /24 under 10.231 that no interface here uses, so two runs never clash."""

    name: str = field(default_factory=lambda: f"chsh{secrets.token_hex(3)}")
    subnet: str = ""

    def __post_init__(self) -> None:
        used = _used_subnets()
        for _ in range(50):
            candidate = f"{SUBNET_PREFIX}.{secrets.randbelow(250) + 2}"
            if candidate not in used:
                self.subnet = candidate
                break

    @property
    def host_address(self) -> str:
        return f"{self.subnet}.1"

    @property
    def guest_address(self) -> str:
        return f"{self.subnet}.2"

    @property
    def host_link(self) -> str:
        return f"{self.name}h"

    def create(self) -> None:
        run("ip", "netns", "add", self.name)
        run("ip", "link", "add", self.host_link, "type", "veth", "peer", "name", f"{self.name}g")
        run("ip", "link", "set", f"{self.name}g", "netns", self.name)
        run("ip", "addr", "add", f"{self.host_address}/24", "dev", self.host_link)
        run("ip", "link", "set", self.host_link, "up")
        inside = ("ip", "netns", "exec", self.name)
        run(*inside, "ip", "addr", "add", f"{self.guest_address}/24", "dev", f"{self.name}g")
        run(*inside, "ip", "link", "set", f"{self.name}g", "up")
        run(*inside, "ip", "link", "set", "lo", "up")

    def destroy(self) -> None:
        # Deleting one end of a veth deletes the pair; the namespace goes once nothing is in it.
        subprocess.run(["ip", "link", "del", self.host_link], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


def stop(process: subprocess.Popen | None, *, timeout: float = 15) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class RedisServer:
    """``redis-server`` without persistence, listening on ``address`` only."""

    address: str
    port: int
    folder: Path
    process: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://{self.address}:{self.port}/{db}"

    def start(self) -> None:
        with open(self.folder / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                [shutil.which("redis-server"), "--port", str(self.port), "--bind", self.address,
                 "--save", "", "--appendonly", "no", "--dir", str(self.folder),
                 # Bound to the veth address alone, which only this machine reaches.
                 "--protected-mode", "no"],
                stdout=log, stderr=subprocess.STDOUT,
            )
        client = redis.Redis(host=self.address, port=self.port, socket_connect_timeout=0.5)

        def answers() -> bool:
            if self.process.poll() is not None:
                raise AssertionError((self.folder / "redis.log").read_text()[-2000:])
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_until(answers, timeout=20, what="redis-server")

    def stop(self) -> None:
        stop(self.process)


@dataclass
class PostgresCluster:
    """A cluster of the test's own: ``initdb`` (as the ``postgres`` user: initdb refuses root)
    in ``folder``, ``pg_ctl start`` listening on ``address`` only, trust for the veth subnet.
    fsync is off: the data is thrown away afterwards."""

    binaries: Path
    address: str
    port: int
    folder: Path
    started: bool = False

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str) -> str:
        return f"postgres://postgres@{self.address}:{self.port}/{database}"

    def _as_postgres(self, *command: str) -> subprocess.CompletedProcess:
        return run(*command, user="postgres", group="postgres")

    def start(self, *, database: str) -> None:
        self.folder.mkdir()
        os.chown(self.folder, pwd.getpwnam("postgres").pw_uid, pwd.getpwnam("postgres").pw_gid)
        self._as_postgres(str(self.binaries / "initdb"), "-D", str(self.data), "-U", "postgres",
                          "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
        subnet = self.address.rsplit(".", 1)[0]
        with open(self.data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {subnet}.0/24 trust\n")
        options = (f"-c listen_addresses={self.address} -c port={self.port} "
                   f"-k {self.folder} -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=40 -c log_connections=on")
        self._as_postgres(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30",
                          "-l", str(self.folder / "postgres.log"), "-o", options, "start")
        self.started = True
        run(str(self.binaries / "psql"), "-h", self.address, "-p", str(self.port), "-U",
            "postgres", "-c", f"create database {database}")

    def log(self) -> str:
        return (self.folder / "postgres.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.started:
            subprocess.run(
                [str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
                 "stop"], capture_output=True, user="postgres", group="postgres",
            )
            self.started = False
