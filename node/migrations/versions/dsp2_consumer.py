"""Dataspace Protocol: the node as consumer (its side of negotiations and transfers).

Revision ID: dsp2
Revises: dsp1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "dsp2"
down_revision = "dsp1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("dsp_negotiation", "dsp_transfer"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("role", sa.String(8), nullable=False, server_default="provider")
            )
            batch.add_column(sa.Column("provider_pid", sa.String(300), nullable=True))
            batch.add_column(sa.Column("received", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in ("dsp_negotiation", "dsp_transfer"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("received")
            batch.drop_column("provider_pid")
            batch.drop_column("role")
