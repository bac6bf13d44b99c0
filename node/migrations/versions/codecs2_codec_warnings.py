"""Ingest: the warnings a device's codec gave for its newest uplink that had any.

Revision ID: codecs2
Revises: codecs1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "codecs2"
down_revision = "codecs1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_codec_warning",
        sa.Column("device_id", sa.String(128), primary_key=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("codec", sa.String(128), nullable=False),
        sa.Column("warnings", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ingest_codec_warning")
