"""Dataspace Protocol: contract negotiations and transfer processes.

Revision ID: dsp1
Revises: usage1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "dsp1"
down_revision = "usage1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dsp_negotiation",
        sa.Column("pid", sa.String(300), primary_key=True),
        sa.Column("consumer_pid", sa.String(300), nullable=False),
        sa.Column("participant", sa.String(300), nullable=False, index=True),
        sa.Column("callback", sa.String(2000), nullable=False),
        sa.Column("dataset_id", sa.String(64), nullable=False, index=True),
        sa.Column("offer_id", sa.String(300), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("agreement_id", sa.String(300), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "dsp_transfer",
        sa.Column("pid", sa.String(300), primary_key=True),
        sa.Column("consumer_pid", sa.String(300), nullable=False),
        sa.Column("participant", sa.String(300), nullable=False, index=True),
        sa.Column("callback", sa.String(2000), nullable=False),
        sa.Column("agreement_id", sa.String(300), nullable=False, index=True),
        sa.Column("dataset_id", sa.String(64), nullable=False),
        sa.Column("format", sa.String(100), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dsp_transfer")
    op.drop_table("dsp_negotiation")
