"""CDS Hooks 2.0.1 feedback, stored idempotently.

Used by ``POST /cds-services/{id}/feedback``::

    result = record_feedback(db, service_id, body["feedback"], client=verified.iss)

``items`` are the already validated feedback objects (dicts) of the request body:
``{"card": uuid, "outcome": "accepted" | "overridden", "acceptedSuggestions": [{"id": …}],
"overrideReason": {"reason": Coding, "userComment": str}, "outcomeTimestamp": "…"}``.
The same service, card, outcome and ``outcomeTimestamp`` is stored once: a re-post is counted in
``duplicates``, not stored again. A different outcome for the same card is a new row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import ReturningInsert

from igwatch.errors import InputRefused
from igwatch.store.db import Database, clean_text
from igwatch.store.models import FeedbackRecord

OUTCOMES: Final = frozenset({"accepted", "overridden"})
_UNIQUE: Final = ("client_key", "service_id", "card_uuid", "outcome", "outcome_timestamp")


@dataclass(frozen=True)
class FeedbackResult:
    """How many feedback items were stored, and how many were already there."""

    stored: int
    duplicates: int


def _text(value: object, limit: int | None = None) -> str | None:
    if not isinstance(value, str):
        return None
    return clean_text(value, limit)


def _row(
    service_id: str, item: Mapping[str, Any], number: int, client: str | None, now: datetime
) -> dict[str, Any]:
    where = f"feedback item {number}"
    card = _text(item.get("card"), 200)
    outcome = item.get("outcome")
    timestamp = _text(item.get("outcomeTimestamp"), 64)
    if not card:
        raise InputRefused(f"{where}: no card uuid")
    if outcome not in OUTCOMES:
        raise InputRefused(f"{where}: outcome must be accepted or overridden")
    if not timestamp:
        raise InputRefused(f"{where}: no outcomeTimestamp")
    accepted = [
        s["id"]
        for s in item.get("acceptedSuggestions") or []
        if isinstance(s, Mapping) and isinstance(s.get("id"), str)
    ]
    override = item.get("overrideReason")
    override = override if isinstance(override, Mapping) else {}
    reason = override.get("reason")
    reason = reason if isinstance(reason, Mapping) else {}
    return {
        "service_id": _text(service_id, 200) or "",
        "card_uuid": card,
        "outcome": outcome,
        "accepted_suggestions": [_text(a) for a in accepted],
        "override_reason_code": _text(reason.get("code"), 200),
        "override_reason_system": _text(reason.get("system")),
        "override_reason_display": _text(reason.get("display")),
        "user_comment": _text(override.get("userComment")),
        "outcome_timestamp": timestamp,
        "received_at": now,
        "client_iss": _text(client),
        "client_key": _text(client) or "",
    }


def _insert_ignoring_duplicates(db: Database) -> ReturningInsert[tuple[int]]:
    insert: postgresql.Insert | sqlite.Insert
    if db.dialect == "postgresql":
        insert = postgresql.insert(FeedbackRecord).on_conflict_do_nothing(index_elements=list(_UNIQUE))
    else:
        insert = sqlite.insert(FeedbackRecord).on_conflict_do_nothing(index_elements=list(_UNIQUE))
    return insert.returning(FeedbackRecord.id)


def record_feedback(
    db: Database, service_id: str, items: Iterable[Mapping[str, Any]], client: str | None = None
) -> FeedbackResult:
    """Store the feedback items of one request (all or none); ``client`` is the caller's ``iss``.

    An item without a card, a known outcome or an ``outcomeTimestamp`` is refused
    (:class:`~igwatch.errors.InputRefused`, naming the item, 1-based) and nothing is stored.
    """
    now = datetime.now(UTC)
    rows = [_row(service_id, item, n, client, now) for n, item in enumerate(items, start=1)]
    stored = 0
    statement = _insert_ignoring_duplicates(db)
    with db.writing() as connection:
        for row in rows:
            # One row per statement; RETURNING says whether this one was new (rowcount is not
            # reliable across drivers for ON CONFLICT DO NOTHING).
            stored += len(connection.execute(statement.values(row)).all())
    return FeedbackResult(stored=stored, duplicates=len(rows) - stored)
