"""A real PostgreSQL server for the tests, started once per test session (per xdist worker).

Fixtures (import them into a test module or a conftest):

- ``postgres_server``: the running server (:class:`PostgresServer`); ``new_database()`` gives the
  URL of a new database on it, ``empty_database()`` empties and reuses one (quicker).
- ``postgres_url``: ``postgresql+psycopg://postgres@127.0.0.1:PORT/igwatch``.
- ``database_url``: parametrised over :data:`DATABASE_KINDS` (``sqlite``, ``postgresql``); a fresh
  empty database of each kind for every test. The PostgreSQL case carries the ``postgres`` mark.

To use them elsewhere: ``from tests.support.postgres import database_url, postgres_server  # noqa: F401``
in the test module or conftest. For a fixture of your own over both kinds, use
``@pytest.fixture(params=database_urls)`` and ask ``request.getfixturevalue("postgres_server")`` only in
the ``postgresql`` case (so SQLite-only runs never start a server).

The server runs from ``/usr/lib/postgresql/*/bin`` in a temporary directory under /tmp, listening
on a free loopback port with its socket in that directory and trust authentication; as root it
runs as the ``postgres`` OS user (initdb refuses root). It runs in the foreground as a child of the
test process and dies with it; it is stopped and removed at the end.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
NOT_INSTALLED = "PostgreSQL server not installed: run bash scripts/setup"
DATABASE_KINDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]
#: The interface name for the same list.
database_urls = DATABASE_KINDS


def _bin_dir() -> Path:
    candidates = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0,
    )
    if not candidates or not (candidates[-1] / "pg_ctl").exists():
        pytest.fail(NOT_INSTALLED, pytrace=False)
    return candidates[-1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server; :meth:`new_database` hands out fresh databases."""

    port: int
    directory: Path
    _counter: Iterator[int] = field(default_factory=itertools.count)

    @property
    def admin_dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def empty_database(self, name: str = "scratch") -> str:
        """The URL of database ``name``, emptied (its public schema dropped and made again).

        Much quicker than a new database (CREATE DATABASE takes about a second here); connections
        left open on it are ended first so nothing holds a lock.
        """
        with psycopg.connect(self.admin_dsn, autocommit=True) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists is None:
                admin.execute(f'CREATE DATABASE "{name}"')
                return self.url(name)
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        with psycopg.connect(f"{self.dsn_base} dbname={name}", autocommit=True) as connection:
            connection.execute("DROP SCHEMA public CASCADE")
            connection.execute("CREATE SCHEMA public")
        return self.url(name)

    @property
    def dsn_base(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres"

    def new_database(self, prefix: str = "t") -> str:
        name = f"{prefix}_{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_server_user(command: list[str], owner: pwd.struct_passwd | None) -> list[str]:
    return ["runuser", "-u", owner.pw_name, "--", *command] if owner is not None else command


def _server_process_setup(owner: pwd.struct_passwd | None) -> Callable[[], None]:
    """Run in the forked child before exec: become the server user, and die with the test process.

    A server started in the foreground as our child, with a parent-death signal, cannot outlive a
    test run that is killed (pg_ctl would leave a daemon behind). The signal is set after the user
    change, which clears it.
    """

    def setup() -> None:
        if owner is not None:
            os.setgroups([])
            os.setgid(owner.pw_gid)
            os.setuid(owner.pw_uid)
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGQUIT)  # SIGQUIT: PostgreSQL's immediate shutdown

    return setup


def _wait_ready(process: subprocess.Popen[bytes], port: int, timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False  # exited: most likely the port was taken meanwhile
        try:
            with psycopg.connect(
                f"host=127.0.0.1 port={port} user=postgres dbname=postgres", connect_timeout=2
            ):
                return True
        except psycopg.OperationalError:
            time.sleep(0.1)
    return False


def _start(bin_dir: Path) -> tuple[PostgresServer, subprocess.Popen[bytes]]:
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail(
                "running as root and there is no postgres OS user: run bash scripts/setup", pytrace=False
            )
    directory = Path(tempfile.mkdtemp(prefix="igwatch-pg-", dir="/tmp"))
    if owner is not None:
        os.chown(directory, owner.pw_uid, owner.pw_gid)
    data = directory / "data"
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
    done = subprocess.run(
        _as_server_user([*initdb, "--locale=C", "--no-sync"], owner),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        pytest.fail(f"initdb failed: {(done.stderr or done.stdout).strip()}", pytrace=False)
    log = directory / "server.log"
    for _attempt in range(3):  # another process may take the free port first
        port = _free_port()
        with log.open("ab") as log_file:
            process = subprocess.Popen(
                [
                    str(bin_dir / "postgres"),
                    "-D",
                    str(data),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"port={port}",
                    "-c",
                    f"unix_socket_directories={directory}",
                    # Test data need no durability; these make it quicker.
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=50",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_server_process_setup(owner),
            )
        if _wait_ready(process, port):
            return PostgresServer(port=port, directory=directory), process
        _stop(process)
    tail = log.read_text(errors="replace").strip().splitlines()[-3:]
    shutil.rmtree(directory, ignore_errors=True)
    pytest.fail(f"PostgreSQL did not start: {' | '.join(tail)}", pytrace=False)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # fast shutdown
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL on a free loopback port, for the whole session."""
    server, process = _start(_bin_dir())
    try:
        with psycopg.connect(server.admin_dsn, autocommit=True) as connection:
            connection.execute('CREATE DATABASE "igwatch"')
        yield server
    finally:
        _stop(process)
        shutil.rmtree(server.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """``postgresql+psycopg://postgres@127.0.0.1:PORT/igwatch`` (shared by the session)."""
    return postgres_server.url("igwatch")


@pytest.fixture(params=DATABASE_KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database for this test: a SQLite file, or a new database on the server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'igwatch.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.empty_database()
