"""A private PostgreSQL cluster for tests that restart or stop the server: the machine's
shared one (127.0.0.1:5432) serves other tests and CI and must not be disturbed."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psycopg2
import pytest
from sqlalchemy.orm import sessionmaker

from bot import db
from harness.servers import free_port, reachable

USER = "postgres"  # the binaries refuse to run as root


def binaries() -> Path | None:
    """The newest installed server's bin directory (Debian layout), if any."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    return found[-1].parent if found else None


def missing() -> str | None:
    """Why no private cluster can run here, or None."""
    if binaries() is None:
        return "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin"
    if os.geteuid() != 0:
        return "starting a cluster as the postgres user needs root"
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return "there is no postgres user to run the cluster as"
    return None


class PrivateCluster:
    """initdb'd in a temporary directory; trust authentication, TCP on 127.0.0.1 only."""

    def __init__(self) -> None:
        self.bin = binaries()
        self.home = Path(tempfile.mkdtemp(prefix="pg-private-"))
        self.data = self.home / "data"
        self.log = self.home / "server.log"
        self.port = free_port()
        shutil.chown(self.home, USER, USER)
        self._as_postgres(
            "initdb", "-D", self.data, "-U", USER, "-A", "trust", "-E", "UTF8", "--no-sync"
        )
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.home}'\nfsync = off\n"
            )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._as_postgres("pg_ctl", "-D", self.data, "-l", self.log, "-w", "start")
        self.wait_ready()

    def restart(self) -> None:
        """Fast shutdown (every open connection is terminated), then up again."""
        self._as_postgres("pg_ctl", "-D", self.data, "-l", self.log, "-m", "fast", "-w", "restart")
        self.wait_ready()

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def create_database(self, name: str) -> None:
        connection = psycopg2.connect(self.url())
        connection.autocommit = True
        try:
            connection.cursor().execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()

    def wait_ready(self, timeout: float = 30) -> None:
        """Until a connection over TCP (as the assistant makes them) succeeds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg2.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _as_postgres(self, program: str, *args) -> None:
        done = subprocess.run(
            ["runuser", "-u", USER, "--", str(self.bin / program), *map(str, args)],
            cwd=self.home,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise RuntimeError(f"{program} failed: {done.stderr.strip()} (see {self.log})")


@contextmanager
def scratch_database(purpose: str) -> Iterator[str]:
    """The URL of a database name of its own on the machine's shared PostgreSQL (the
    caller creates it), dropped afterwards even with connections open; skips the test
    where that server is not running."""
    if not reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not running")
    name = f"hub_{purpose}_{uuid.uuid4().hex[:10]}"
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        yield url
    finally:
        db.engine(url).dispose()
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-c",
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            ],
            capture_output=True,
            check=False,
        )


@contextmanager
def new_database(kind: str, directory: Path, purpose: str) -> Iterator[sessionmaker]:
    """A new database with every table, as the start-up commands leave it: SQLite in
    ``directory`` (``kind`` "sqlite") or one of its own on the machine's PostgreSQL."""
    if kind == "sqlite":
        factory = db.session_factory(f"sqlite:///{directory / f'{purpose}.db'}")
        db.create_schema(factory)
        yield factory
        return
    with scratch_database(purpose) as url:
        db.ensure_database(url)
        yield db.session_factory(url)
