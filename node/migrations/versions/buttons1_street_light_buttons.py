"""Street-light push buttons: which LoRaWAN button presses which segment.

Revision ID: buttons1
Revises: actuation1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "buttons1"
down_revision = "actuation1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "actuation_button",
        sa.Column("device_id", sa.String(128), primary_key=True),
        sa.Column("segment_id", sa.String(64), nullable=False, index=True),
        sa.Column("label", sa.String(200)),
        sa.Column("registered", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("actuation_button")
