"""Server-side web sessions (web_sessions); feedback duplicates judged per client (client_key).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OLD_UNIQUE = ("service_id", "card_uuid", "outcome", "outcome_timestamp")


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.Text(), nullable=False),
        sa.Column("identity", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    op.create_index(op.f("ix_web_sessions_expires"), "web_sessions", ["expires"], unique=False)
    # Two EHRs may send the same card uuid, outcome and time: each client's feedback is its own.
    with op.batch_alter_table("cds_feedback", recreate="always") as batch:
        batch.add_column(sa.Column("client_key", sa.Text(), nullable=False, server_default=""))
        batch.drop_constraint("uq_feedback_outcome", type_="unique")
    op.execute("UPDATE cds_feedback SET client_key = COALESCE(client_iss, '')")
    with op.batch_alter_table("cds_feedback") as batch:
        batch.create_unique_constraint("uq_feedback_outcome", ["client_key", *OLD_UNIQUE])


def downgrade() -> None:
    with op.batch_alter_table("cds_feedback", recreate="always") as batch:
        batch.drop_constraint("uq_feedback_outcome", type_="unique")
        batch.drop_column("client_key")
        batch.create_unique_constraint("uq_feedback_outcome", list(OLD_UNIQUE))
    op.drop_index(op.f("ix_web_sessions_expires"), table_name="web_sessions")
    op.drop_table("web_sessions")
