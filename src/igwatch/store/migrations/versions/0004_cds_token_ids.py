"""CDS Hooks token ids seen (cds_token_ids): the replay cache shared by every worker process.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_token_ids",
        sa.Column("client_iss", sa.Text(), nullable=False),
        sa.Column("jti", sa.String(length=256), nullable=False),
        sa.Column("keep_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("client_iss", "jti", name=op.f("pk_cds_token_ids")),
    )
    op.create_index(
        "ix_cds_token_ids_client_keep", "cds_token_ids", ["client_iss", "keep_until"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_cds_token_ids_client_keep", table_name="cds_token_ids")
    op.drop_table("cds_token_ids")
