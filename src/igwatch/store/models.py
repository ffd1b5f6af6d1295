"""The tables (SQLAlchemy 2 declarative). The schema itself is made by the Alembic migrations in
``migrations/versions``; a change here needs a new migration there."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import JSON, Date, DateTime, Float, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: FHIR ids are at most 64 characters; resource type names are short.
ID_LENGTH: Final = 64

NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class FeedbackRecord(Base):
    """One CDS Hooks feedback item: what the clinician did with a card."""

    __tablename__ = "cds_feedback"
    __table_args__ = (
        # A client re-posting the same outcome (network retry) must not count twice.
        # Per client: two EHRs reporting the same card, outcome and time are two items.
        UniqueConstraint(
            "client_key",
            "service_id",
            "card_uuid",
            "outcome",
            "outcome_timestamp",
            name="uq_feedback_outcome",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(200))
    card_uuid: Mapped[str] = mapped_column(String(200), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    accepted_suggestions: Mapped[list[Any]] = mapped_column(JSON)
    override_reason_code: Mapped[str | None] = mapped_column(String(200))
    override_reason_system: Mapped[str | None] = mapped_column(Text)
    override_reason_display: Mapped[str | None] = mapped_column(Text)
    user_comment: Mapped[str | None] = mapped_column(Text)
    outcome_timestamp: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    client_iss: Mapped[str | None] = mapped_column(Text)
    client_key: Mapped[str] = mapped_column(Text, default="", server_default="")  # client_iss or ""


class PatientRecord(Base):
    """A stored patient: the summary the worklist shows; the resource itself is in ``fhir_resources``."""

    __tablename__ = "patients"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    display_name: Mapped[str] = mapped_column(Text)
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ResourceRecord(Base):
    """One FHIR resource as JSON text, keyed by type and id (re-loading replaces it).

    ``patient_id`` is the patient it is about (None for shared resources such as Medication).
    No foreign key to ``patients``: a bulk export holds one type per file, in any order.
    """

    __tablename__ = "fhir_resources"
    __table_args__ = (Index("ix_fhir_resources_patient", "patient_id", "loaded_at", "position"),)

    resource_type: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    patient_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    full_url: Mapped[str | None] = mapped_column(Text, index=True)
    json_text: Mapped[str] = mapped_column(Text)
    last_updated: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    #: When and where in its file it was loaded: the order a patient's records are read back in.
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    position: Mapped[int] = mapped_column(Integer)


class AuditRecord(Base):
    """Who did what with which patient's record, and whether it was allowed (the audit trail)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recorded: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(Text)
    actor_source: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    detail: Mapped[str | None] = mapped_column(Text)


class WebSession(Base):
    """A logged-in web session. The browser holds a random token; this row, keyed by the token's
    SHA-256, says who it is and until when, so logging out or expiry ends it on the server."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(Text)
    identity: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class TokenId(Base):
    """A CDS Hooks client token id seen, kept until the token could no longer be accepted."""

    __tablename__ = "cds_token_ids"
    __table_args__ = (Index("ix_cds_token_ids_client_keep", "client_iss", "keep_until"),)

    client_iss: Mapped[str] = mapped_column(Text, primary_key=True)
    jti: Mapped[str] = mapped_column(String(256), primary_key=True)
    keep_until: Mapped[float] = mapped_column(Float)
