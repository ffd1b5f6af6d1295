"""Opening the database and bringing its schema up to date.

``Database(url)`` accepts ``sqlite:///path`` and ``postgresql://…`` (run through the psycopg 3
driver); ``None`` means :func:`default_database_url`, a SQLite file in the user's data folder.
A URL that cannot be used, or a database that cannot be reached, is an
:class:`~igwatch.errors.IgwatchError` whose one-line message names the URL without its password.

The engine is safe to share between threads: the server opens one ``Database`` and each request
takes its own connection or session from it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import platformdirs
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from igwatch.errors import IgwatchError

MIGRATIONS: Final = Path(__file__).parent / "migrations"
SUPPORTED_BACKENDS: Final = frozenset({"sqlite", "postgresql"})
#: How long a writer waits for another writer's lock on SQLite before giving up.
SQLITE_BUSY_TIMEOUT_S: Final = 30.0
POSTGRES_CONNECT_TIMEOUT_S: Final = 10
#: pg_advisory_xact_lock key held while migrating ("igwatch" in ASCII, as a number).
MIGRATION_LOCK_KEY: Final = 0x696777617463


def default_database_url() -> str:
    """``sqlite:///…/igwatch.db`` in ``platformdirs.user_data_dir("igwatch")`` (folder created)."""
    folder = Path(platformdirs.user_data_dir("igwatch"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'igwatch.db'}"


def safe_url(url: str | URL) -> str:
    """The URL as text with its password hidden, for messages."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "(unreadable URL)"
    return parsed.render_as_string(hide_password=True)


def clean_text(text: str, limit: int | None = None) -> str:
    """Text every supported database accepts: no NUL (PostgreSQL refuses it), no lone surrogate."""
    cleaned = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return cleaned[:limit] if limit is not None else cleaned


def _first_line(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


def _normalise(url: str) -> URL:
    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        raise IgwatchError(
            f"database URL {safe_url(url)!s}: not a database URL (use sqlite:///PATH or postgresql://…)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgres":  # the scheme some hosting providers print
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend == "postgresql" and "+" not in parsed.drivername:
        # psycopg 3 is the driver igwatch ships with.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise IgwatchError(
            f"database URL {safe_url(parsed)}: unsupported database "
            f"{parsed.get_backend_name()!r} (use sqlite:///PATH or postgresql://…)"
        )
    return parsed


def _is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets the server's readers go on while one writer loads a file. Switching a new file
        # to WAL needs an exclusive lock and SQLite may answer "locked" at once, without waiting
        # for the busy timeout, when several processes open a new database together: retry until
        # the busy timeout has passed.
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
        while True:
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class Database:
    """One database, its engine and its sessions.

    ``Database(None)`` opens :func:`default_database_url`. The constructor connects once to
    check the database can be reached; call :meth:`migrate` before first use and :meth:`close`
    at the end. ``session()`` gives a SQLAlchemy 2 ORM :class:`~sqlalchemy.orm.Session` to use
    as a context manager (``with db.session() as s, s.begin(): …`` commits at the end).
    """

    def __init__(self, url: str | None = None) -> None:
        self.url: URL = _normalise(url if url is not None else default_database_url())
        self.display_url = safe_url(self.url)
        kwargs: dict[str, Any] = {"future": True}
        if self.url.get_backend_name() == "sqlite":
            connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
            kwargs["connect_args"] = connect_args
            if _is_memory(self.url):
                # One shared connection, or every thread would see its own empty database.
                kwargs["poolclass"] = StaticPool
        else:
            kwargs["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: Engine = create_engine(self.url, **kwargs)
        except (ArgumentError, NoSuchModuleError, ImportError, ValueError, TypeError) as error:
            raise IgwatchError(f"database URL {self.display_url}: {_first_line(error)}") from None
        if self.url.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_on_connect)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time. Threads of this process wait for it on this lock
        # rather than in SQLite's busy handler, whose sleeps (1 ms growing to 100 ms) turned
        # millisecond writes into hundreds under concurrent requests.
        self._write_lock = threading.Lock() if self.url.get_backend_name() == "sqlite" else None
        self.check()

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction (committed at the end), one at a time per process on SQLite."""
        if self._write_lock is None:
            with self.engine.begin() as connection:
                yield connection
            return
        with self._write_lock, self.engine.begin() as connection:
            yield connection

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def check(self) -> None:
        """Connect once; an unreachable database is an IgwatchError naming the URL."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            self.engine.dispose()
            raise IgwatchError(
                f"database {self.display_url}: cannot connect ({_first_line(error)})"
            ) from None

    def session(self) -> Session:
        """A new ORM session (a context manager); the caller commits."""
        return self._sessions()

    def migrate(self) -> None:
        """Bring the schema to the newest version (Alembic ``upgrade head``); safe to repeat."""
        from alembic import command  # imported here: alembic is slow to import and needed once
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as connection:
                # Several server processes may start at once on a new database: one migrates,
                # the others wait for it and then find nothing to do.
                if self.dialect == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
                else:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except SQLAlchemyError as error:
            raise IgwatchError(
                f"database {self.display_url}: cannot update the schema ({_first_line(error)})"
            ) from None

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Database({self.display_url!r})"
