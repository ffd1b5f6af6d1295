"""The CDS Hooks replay cache in the database, so that every worker process (``igwatch serve
--workers N``) sees the same token ids: a token is accepted exactly once across them.

One row per (client, ``jti``), kept until the token could no longer be accepted; a client holds
at most ``capacity`` live ids (its new tokens are refused beyond that, never another client's).
The insert is atomic (``ON CONFLICT``): of two workers checking the same token at once, one
inserts and the other finds the row.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from igwatch.cdshooks.auth import AuthError
from igwatch.store.db import Database
from igwatch.store.models import TokenId

#: How many ids a process records between two counts of a client's live ids (and purges of its
#: expired ones): counting on every call would cost a scan per call; the bound can be passed by at
#: most this many ids per worker process.
CHECK_EVERY = 64


class DatabaseReplayCache:
    def __init__(self, db: Database, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("replay cache capacity must be at least 1")
        self.db = db
        self.capacity = capacity
        self._since_check: dict[str, int] = {}
        self._full: set[str] = set()

    def add(self, iss: str, jti: str, keep_until: float, now: float) -> None:
        """Record a token id, or raise AuthError if any worker saw it before (or the client's
        ids fill its share)."""
        module = postgresql if self.db.dialect == "postgresql" else sqlite
        insert = module.insert(TokenId).values(client_iss=iss, jti=jti, keep_until=keep_until)
        # An expired row of the same id may be reused; a live one means a replay.
        upsert = insert.on_conflict_do_update(
            index_elements=["client_iss", "jti"],
            set_={"keep_until": keep_until},
            where=TokenId.keep_until < now,
        ).returning(TokenId.jti)
        try:
            with self.db.writing() as connection:
                checked = self._since_check.get(iss, CHECK_EVERY)
                if checked >= CHECK_EVERY or iss in self._full:
                    connection.execute(
                        delete(TokenId).where(TokenId.client_iss == iss, TokenId.keep_until < now)
                    )
                    live = connection.execute(
                        select(func.count()).select_from(TokenId).where(TokenId.client_iss == iss)
                    ).scalar_one()
                    checked = 0
                    if live >= self.capacity:
                        self._full.add(iss)
                        raise AuthError(
                            "replay cache full of this client's live token ids; refusing its new tokens"
                        )
                    self._full.discard(iss)
                self._since_check[iss] = checked + 1
                if connection.execute(upsert).first() is None:
                    raise AuthError("jti already used (replay)")
        except SQLAlchemyError:
            # Without the shared memory of token ids, a token could be replayed: refuse it.
            raise AuthError("replay cache unavailable (database error); token refused") from None
