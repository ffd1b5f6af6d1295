"""The database: CDS Hooks feedback and stored patients' FHIR data (SQLite or PostgreSQL).

Stable API for the server and the web pages:

- :class:`Database` (``Database(url)``; ``None`` → :func:`default_database_url`), with ``.engine``,
  ``.session()``, ``.migrate()`` and ``.close()``;
- :func:`record_feedback` → :class:`FeedbackResult` (CDS Hooks feedback, stored idempotently);
- :func:`load_path` → :class:`LoadReport` (a Bundle, an NDJSON file or a bulk export directory,
  one transaction for the whole load), :func:`list_patients` → :class:`PatientRow`,
  :func:`patient_resources`, :func:`patient_timeline`, :func:`has_patient`;
- :func:`record_audit` and :func:`audit_entries` (the audit trail of logins and record views).
"""

from __future__ import annotations

from igwatch.store.audit import AuditEntry, AuditQueue, audit_entries, record_audit
from igwatch.store.db import Database, default_database_url
from igwatch.store.feedback import FeedbackResult, record_feedback
from igwatch.store.patients import (
    LoadProgress,
    LoadReport,
    PatientRow,
    has_patient,
    list_patients,
    load_path,
    patient_resources,
    patient_timeline,
)

__all__ = [
    "AuditEntry",
    "AuditQueue",
    "Database",
    "FeedbackResult",
    "LoadProgress",
    "LoadReport",
    "PatientRow",
    "audit_entries",
    "default_database_url",
    "has_patient",
    "list_patients",
    "load_path",
    "patient_resources",
    "patient_timeline",
    "record_audit",
    "record_feedback",
]
