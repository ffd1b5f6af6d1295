"""Server-side web sessions: a login makes a row, each request checks it, logout deletes it and
it expires on the server (12 hours), whatever the browser keeps."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select

from igwatch.store.db import Database, clean_text
from igwatch.store.models import WebSession

SESSION_TTL = timedelta(hours=12)


@dataclass(frozen=True)
class SessionUser:
    user: str
    identity: str
    source: str


def _key(token: str) -> str:
    # Only a hash is stored: a copy of the table does not hand out live sessions.
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db: Database, user: SessionUser, ttl: timedelta = SESSION_TTL) -> str:
    """A new session for ``user``; returns the token for the browser's cookie."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with db.writing() as connection:
        connection.execute(delete(WebSession).where(WebSession.expires < now))
        connection.execute(
            insert(WebSession).values(
                id=_key(token),
                user_name=clean_text(user.user, 200),
                identity=clean_text(user.identity, 500),
                source=user.source,
                created=now,
                expires=now + ttl,
            )
        )
    return token


def session_user(db: Database, token: str) -> SessionUser | None:
    """Who the session is, or None when it is unknown, ended or expired."""
    with db.session() as session:
        row = session.scalars(select(WebSession).where(WebSession.id == _key(token))).first()
    if row is None:
        return None
    expires = row.expires if row.expires.tzinfo else row.expires.replace(tzinfo=UTC)
    if expires <= datetime.now(UTC):
        return None
    return SessionUser(row.user_name, row.identity, row.source)


def end_session(db: Database, token: str) -> None:
    with db.writing() as connection:
        connection.execute(delete(WebSession).where(WebSession.id == _key(token)))
