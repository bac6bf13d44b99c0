"""Ingest: the decoded fields each device sent that its mapping leaves out.

Revision ID: ingestmap2
Revises: ingestmap1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ingestmap2"
down_revision = "ingestmap1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_unmapped_field",
        sa.Column("device_id", sa.String(128), primary_key=True),
        sa.Column("field", sa.String(128), primary_key=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.String(1024), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ingest_unmapped_field")
