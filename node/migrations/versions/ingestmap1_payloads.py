"""Ingest: each device's newest decoded payload, and implausible readings.

Revision ID: ingestmap1
Revises: ingest1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ingestmap1"
down_revision = "ingest1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_device_payload",
        sa.Column("device_id", sa.String(128), primary_key=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("unmapped", sa.Text(), nullable=False),
    )
    op.create_table(
        "ingest_implausible",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(128), nullable=False, index=True),
        sa.Column("field", sa.String(128), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.String(1024), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("refused", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ingest_implausible")
    op.drop_table("ingest_device_payload")
