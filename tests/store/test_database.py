"""Opening databases and migrating them, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from igwatch.errors import IgwatchError
from igwatch.store import Database, default_database_url, record_feedback
from tests.support.postgres import PostgresServer

TABLES = {
    "alembic_version",
    "cds_feedback",
    "patients",
    "fhir_resources",
    "audit_events",
    "web_sessions",
    "cds_token_ids",
}


def test_migrations_apply_from_empty_and_are_idempotent(database_url: str) -> None:
    database = Database(database_url)
    try:
        assert inspect(database.engine).get_table_names() == []
        database.migrate()
        database.migrate()
        assert set(inspect(database.engine).get_table_names()) == TABLES
        with database.engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert versions == ["0004"]
        # A second Database on the same URL finds the schema ready.
        again = Database(database_url)
        again.migrate()
        again.close()
    finally:
        database.close()


def test_sqlite_runs_with_foreign_keys_and_wal(tmp_path: Path) -> None:
    with Database(f"sqlite:///{tmp_path / 'x.db'}") as database, database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_default_url_is_a_sqlite_file_in_the_user_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url = default_database_url()
    assert url == f"sqlite:///{tmp_path / 'data' / 'igwatch' / 'igwatch.db'}"
    assert (tmp_path / "data" / "igwatch").is_dir()
    with Database(None) as database:
        database.migrate()
    assert (tmp_path / "data" / "igwatch" / "igwatch.db").is_file()


@pytest.mark.postgres
def test_plain_postgresql_url_uses_psycopg3(postgres_server: PostgresServer) -> None:
    url = postgres_server.new_database().replace("postgresql+psycopg://", "postgresql://")
    with Database(url) as database:
        assert database.engine.dialect.driver == "psycopg"
        database.migrate()
        assert "cds_feedback" in inspect(database.engine).get_table_names()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "not a database URL"),
        ("mysql://u@localhost/x", "unsupported database 'mysql'"),
        ("sqlite:////nonexistent-dir/sub/x.db", "cannot connect"),
    ],
)
def test_unusable_urls_are_one_line_errors(url: str, expected: str) -> None:
    with pytest.raises(IgwatchError) as caught:
        Database(url)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_unreachable_postgresql_names_the_url_without_its_password() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(IgwatchError) as caught:
        Database(f"postgresql://igwatch:s3cret-pw@127.0.0.1:{port}/igwatch")
    message = str(caught.value)
    assert f"postgresql+psycopg://igwatch:***@127.0.0.1:{port}/igwatch" in message
    assert "cannot connect" in message
    assert "s3cret-pw" not in message
    assert "\n" not in message


def test_concurrent_writers_from_threads(db: Database) -> None:
    # The server runs synchronous handlers in a thread pool: the same feedback posted from many
    # threads at once is still stored once, and nothing fails.
    items = [
        {"card": f"card-{n}", "outcome": "accepted", "outcomeTimestamp": "2026-10-15T10:00:00Z"}
        for n in range(5)
    ]
    results = []
    errors: list[BaseException] = []

    def post() -> None:
        try:
            results.append(record_feedback(db, "igwatch-patient-view", items))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.stored for r in results) == 5
    assert sum(r.duplicates for r in results) == 35
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM cds_feedback")).scalar() == 5


def test_processes_starting_together_migrate_once(database_url: str) -> None:
    # Server processes starting together on a new database: all succeed, the schema is made once.
    errors: list[BaseException] = []
    barrier = threading.Barrier(4, timeout=120)

    def start() -> None:
        try:
            database = Database(database_url)
            barrier.wait()
            database.migrate()
            database.close()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
            barrier.abort()  # release the others: a failure must fail the test, not hang it

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Database(database_url) as database, database.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["0004"]
