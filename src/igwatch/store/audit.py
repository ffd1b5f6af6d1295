"""The audit trail: each login (and refused login), each view of a patient's record (page, summary,
PDF, leaflet), each CDS Hooks call about a patient, worklist export, upload and ``igwatch load``,
with the identity that did it — a local user, a single sign-on identity (issuer and subject), a
SMART launch's ``fhirUser``, a CDS Hooks client's issuer or the operating-system user of the
command line. Never a clinical value. ``igwatch audit`` prints it as FHIR R4 AuditEvent resources (NDJSON).

The audit trail lives in the database, not in the server log: it names patients, and the log
never does.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError

from igwatch.store.db import Database, clean_text
from igwatch.store.models import ID_LENGTH, AuditRecord

log = logging.getLogger("igwatch.audit")

ACTOR_SOURCES: Final = ("local", "sso", "smart", "cds-client", "cli")
OUTCOMES: Final = ("success", "refused")
#: action → (AuditEvent.type code from DICOM DCM, subtype display, FHIR action code R/E)
ACTIONS: Final[dict[str, tuple[str, str, str]]] = {
    "login": ("110114", "User Authentication", "E"),
    "logout": ("110114", "User Authentication", "E"),
    "smart-launch": ("110114", "User Authentication", "E"),
    "patient-view": ("110110", "Patient Record", "R"),
    "summary": ("110110", "Patient Record", "R"),
    "summary-pdf": ("110106", "Export", "R"),
    "leaflet": ("110110", "Patient Record", "R"),
    "hook-call": ("110112", "Query", "E"),
    "worklist-export": ("110106", "Export", "R"),
    "upload": ("110107", "Import", "C"),
    "load": ("110107", "Import", "C"),
}


@dataclass(frozen=True)
class AuditEntry:
    recorded: datetime
    actor: str
    actor_source: str
    action: str
    outcome: str
    patient_id: str | None
    detail: str | None

    def to_fhir(self, number: int) -> dict[str, Any]:
        """This entry as a FHIR R4 AuditEvent."""
        type_code, type_display, action_code = ACTIONS[self.action]
        event: dict[str, Any] = {
            "resourceType": "AuditEvent",
            "id": f"igwatch-audit-{number}",
            "type": {
                "system": "http://dicom.nema.org/resources/ontology/DCM",
                "code": type_code,
                "display": type_display,
            },
            "subtype": [{"system": "urn:igwatch:audit-action", "code": self.action}],
            "action": action_code,
            "recorded": self.recorded.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "outcome": "0" if self.outcome == "success" else "4",
            "agent": [
                {
                    "type": {"text": self.actor_source},
                    "who": {"display": self.actor},
                    "requestor": True,
                }
            ],
            "source": {"observer": {"display": "igwatch"}},
        }
        if self.detail:
            event["outcomeDesc"] = self.detail
        if self.patient_id:
            event["entity"] = [{"what": {"reference": f"Patient/{self.patient_id}"}}]
        return event


def _audit_row(
    actor: str, actor_source: str, action: str, outcome: str, patient_id: str | None, detail: str | None
) -> dict[str, Any]:
    if actor_source not in ACTOR_SOURCES or action not in ACTIONS or outcome not in OUTCOMES:
        raise ValueError(f"audit: unknown source, action or outcome ({actor_source}, {action}, {outcome})")
    return {
        "recorded": datetime.now(UTC),
        "actor": clean_text(actor, 500),
        "actor_source": actor_source,
        "action": action,
        "outcome": outcome,
        "patient_id": patient_id[:ID_LENGTH] if patient_id else None,
        "detail": clean_text(detail, 500) if detail else None,
    }


def record_audit(
    db: Database,
    *,
    actor: str,
    actor_source: str,
    action: str,
    outcome: str = "success",
    patient_id: str | None = None,
    detail: str | None = None,
) -> None:
    """Add one entry to the audit trail (its own transaction)."""
    row = _audit_row(actor, actor_source, action, outcome, patient_id, detail)
    with db.writing() as connection:
        connection.execute(insert(AuditRecord).values(row))


class AuditQueue:
    """Audit entries of the CDS Hooks service, written by one thread in batches (one transaction
    every ``interval_s`` at most): a call does not wait for the database, and several worker
    processes do not fight over SQLite's one writer on every call. Entries are in the database
    within ``interval_s``; :meth:`close` (at shutdown) writes what is left. A batch the database
    refuses is logged (its size, never its content)."""

    def __init__(self, db: Database, interval_s: float = 0.2, max_batch: int = 1000) -> None:
        self.db = db
        self.interval_s = interval_s
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="igwatch-audit", daemon=True)
        self._thread.start()

    def record(
        self,
        *,
        actor: str,
        actor_source: str,
        action: str,
        outcome: str = "success",
        patient_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        self._queue.put(_audit_row(actor, actor_source, action, outcome, patient_id, detail))

    def _run(self) -> None:
        closing = False
        while not closing:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            deadline = time.monotonic() + self.interval_s
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    closing = True
                    break
                batch.append(item)
            try:
                with self.db.writing() as connection:
                    connection.execute(insert(AuditRecord), batch)
            except SQLAlchemyError as error:
                log.error("audit: %d entries could not be written (%s)", len(batch), type(error).__name__)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)


def audit_entries(
    db: Database, since: datetime | None = None, patient_id: str | None = None, actor: str | None = None
) -> Iterator[AuditEntry]:
    """The audit trail, oldest event first: from ``since`` on, about one patient, or by one actor
    (the identity or user name as recorded), when given."""
    # By the time of the event: queued entries (CDS Hooks calls) reach the table a little later.
    query = select(AuditRecord).order_by(AuditRecord.recorded, AuditRecord.id)
    if since is not None:
        query = query.where(AuditRecord.recorded >= since)
    if patient_id is not None:
        query = query.where(AuditRecord.patient_id == patient_id)
    if actor is not None:
        query = query.where(AuditRecord.actor == actor)
    with db.session() as session:
        for row in session.scalars(query):
            recorded = row.recorded if row.recorded.tzinfo else row.recorded.replace(tzinfo=UTC)
            yield AuditEntry(
                recorded, row.actor, row.actor_source, row.action, row.outcome, row.patient_id, row.detail
            )
