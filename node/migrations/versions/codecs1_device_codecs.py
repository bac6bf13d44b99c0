"""Ingest: codecs the operator uploaded for single devices.

Revision ID: codecs1
Revises: ingest1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "codecs1"
down_revision = "ingest1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_device_codec",
        sa.Column("device_id", sa.String(128), primary_key=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ingest_device_codec")
