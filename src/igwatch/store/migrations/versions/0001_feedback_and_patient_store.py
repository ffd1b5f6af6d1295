"""Feedback and patient store: cds_feedback, patients, fhir_resources.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service_id", sa.String(length=200), nullable=False),
        sa.Column("card_uuid", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON(), nullable=False),
        sa.Column("override_reason_code", sa.String(length=200), nullable=True),
        sa.Column("override_reason_system", sa.Text(), nullable=True),
        sa.Column("override_reason_display", sa.Text(), nullable=True),
        sa.Column("user_comment", sa.Text(), nullable=True),
        sa.Column("outcome_timestamp", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_iss", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cds_feedback")),
        sa.UniqueConstraint(
            "service_id", "card_uuid", "outcome", "outcome_timestamp", name="uq_feedback_outcome"
        ),
    )
    op.create_index(op.f("ix_cds_feedback_card_uuid"), "cds_feedback", ["card_uuid"], unique=False)

    op.create_table(
        "fhir_resources",
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("full_url", sa.Text(), nullable=True),
        sa.Column("json_text", sa.Text(), nullable=False),
        sa.Column("last_updated", sa.String(length=64), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("resource_type", "id", name=op.f("pk_fhir_resources")),
    )
    op.create_index(op.f("ix_fhir_resources_full_url"), "fhir_resources", ["full_url"], unique=False)
    op.create_index(
        "ix_fhir_resources_patient", "fhir_resources", ["patient_id", "loaded_at", "position"], unique=False
    )

    op.create_table(
        "patients",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("gender", sa.String(length=32), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
    )


def downgrade() -> None:
    op.drop_table("patients")
    op.drop_index("ix_fhir_resources_patient", table_name="fhir_resources")
    op.drop_index(op.f("ix_fhir_resources_full_url"), table_name="fhir_resources")
    op.drop_table("fhir_resources")
    op.drop_index(op.f("ix_cds_feedback_card_uuid"), table_name="cds_feedback")
    op.drop_table("cds_feedback")
