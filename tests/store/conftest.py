"""Fixtures for the store tests: a fresh database per test, SQLite and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from igwatch.store import Database
from tests.support.postgres import database_url, postgres_server, postgres_url  # noqa: F401


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:  # noqa: F811 - the fixture imported above
    """A migrated empty database of each kind."""
    database = Database(database_url)
    database.migrate()
    try:
        yield database
    finally:
        database.close()
