"""CDS Hooks feedback is stored idempotently, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from igwatch.errors import InputRefused
from igwatch.store import Database, FeedbackResult, record_feedback
from igwatch.store.models import FeedbackRecord

SERVICE = "igwatch-order-select"
CARD = "0f6b8b8e-2b1e-4c1a-9a55-1d2f0c1e9a01"


def _accepted(card: str = CARD, when: str = "2026-10-15T10:00:00Z") -> dict[str, Any]:
    return {
        "card": card,
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": "delete-live-vaccine-order"}],
        "outcomeTimestamp": when,
    }


def _overridden(card: str = CARD, when: str = "2026-10-15T10:05:00Z") -> dict[str, Any]:
    return {
        "card": card,
        "outcome": "overridden",
        "overrideReason": {
            "reason": {
                "system": "https://igwatch.dev/fhir/CodeSystem/override-reason",
                "code": "patient-informed",
                "display": "Risks discussed with the patient",
            },
            "userComment": "Specialist advice on file",
        },
        "outcomeTimestamp": when,
    }


def _rows(db: Database) -> list[FeedbackRecord]:
    with db.session() as session:
        return list(session.scalars(select(FeedbackRecord).order_by(FeedbackRecord.id)))


def test_posted_twice_is_stored_once(db: Database) -> None:
    assert record_feedback(db, SERVICE, [_accepted()], client="https://ehr.example.org") == FeedbackResult(
        1, 0
    )
    assert record_feedback(db, SERVICE, [_accepted()], client="https://ehr.example.org") == FeedbackResult(
        0, 1
    )
    rows = _rows(db)
    assert len(rows) == 1
    row = rows[0]
    assert (row.service_id, row.card_uuid, row.outcome) == (SERVICE, CARD, "accepted")
    assert row.accepted_suggestions == ["delete-live-vaccine-order"]
    assert row.outcome_timestamp == "2026-10-15T10:00:00Z"
    assert row.client_iss == "https://ehr.example.org"
    assert row.received_at is not None


def test_a_different_outcome_or_time_or_service_is_stored_separately(db: Database) -> None:
    assert record_feedback(db, SERVICE, [_accepted(), _overridden()]) == FeedbackResult(2, 0)
    assert record_feedback(db, SERVICE, [_accepted(when="2026-10-16T08:00:00Z")]) == FeedbackResult(1, 0)
    assert record_feedback(db, "igwatch-patient-view", [_accepted()]) == FeedbackResult(1, 0)
    # Duplicates within one request count once too.
    assert record_feedback(db, SERVICE, [_overridden(card="c2"), _overridden(card="c2")]) == FeedbackResult(
        1, 1
    )
    rows = _rows(db)
    assert len(rows) == 5
    overridden = next(r for r in rows if r.outcome == "overridden" and r.card_uuid == CARD)
    assert overridden.override_reason_code == "patient-informed"
    assert overridden.override_reason_system == "https://igwatch.dev/fhir/CodeSystem/override-reason"
    assert overridden.override_reason_display == "Risks discussed with the patient"
    assert overridden.user_comment == "Specialist advice on file"
    assert overridden.accepted_suggestions == []


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            {"outcome": "accepted", "outcomeTimestamp": "2026-10-15T10:00:00Z"},
            "feedback item 2: no card uuid",
        ),
        ({"card": "x", "outcome": "maybe", "outcomeTimestamp": "t"}, "feedback item 2: outcome must be"),
        ({"card": "x", "outcome": "accepted"}, "feedback item 2: no outcomeTimestamp"),
    ],
)
def test_an_unusable_item_refuses_the_request_and_stores_nothing(
    db: Database, item: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputRefused, match=message):
        record_feedback(db, SERVICE, [_accepted(), item])
    assert _rows(db) == []


def test_text_a_database_cannot_hold_is_cleaned(db: Database) -> None:
    item = _overridden()
    item["overrideReason"]["userComment"] = "nul\x00 and lone \ud800 surrogate"
    assert record_feedback(db, SERVICE, [item]).stored == 1
    comment = _rows(db)[0].user_comment
    assert comment is not None and "\x00" not in comment


def test_two_clients_reporting_the_same_card_and_time_are_both_kept(db: Database) -> None:
    # Duplicates are judged per client: EHR B's feedback is not dropped as EHR A's repeat.
    first = record_feedback(db, SERVICE, [_accepted()], client="https://ehr-a.example.org")
    second = record_feedback(db, SERVICE, [_accepted()], client="https://ehr-b.example.org")
    again = record_feedback(db, SERVICE, [_accepted()], client="https://ehr-b.example.org")
    assert (first, second, again) == (
        FeedbackResult(stored=1, duplicates=0),
        FeedbackResult(stored=1, duplicates=0),
        FeedbackResult(stored=0, duplicates=1),
    )
    anonymous = [record_feedback(db, SERVICE, [_accepted()]) for _ in range(2)]  # dev mode: no client
    assert anonymous == [FeedbackResult(stored=1, duplicates=0), FeedbackResult(stored=0, duplicates=1)]
