"""Actuation: controllers, segments, switchings and the switching policy.

Revision ID: actuation1
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "actuation1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "actuation_controller",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("dev_eui", sa.String(16), nullable=False, index=True),
        sa.Column("network", sa.String(16), nullable=False),
        sa.Column("server", sa.String(500), nullable=False),
        sa.Column("application_id", sa.String(128)),
        sa.Column("device_id", sa.String(128), nullable=False, index=True),
        sa.Column("webhook_id", sa.String(128)),
        sa.Column("credential", sa.String(2000), nullable=False),
        sa.Column("lorawan_class", sa.String(1), nullable=False),
        sa.Column("uplink_interval", sa.Integer(), nullable=False),
        sa.Column("codec", sa.Text(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("label", sa.String(200)),
        sa.Column("registered", tz, nullable=False),
    )
    op.create_table(
        "actuation_segment",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("controller_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lamps", sa.Integer(), nullable=False),
        sa.Column("watts", sa.Float(), nullable=False),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("dark_from", sa.String(5), nullable=False),
        sa.Column("dark_until", sa.String(5), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("lock_reason", sa.String(300)),
        sa.Column("on_until", tz),
        sa.Column("window_switching", sa.String(32)),
        sa.Column("extend_pending", sa.Boolean(), nullable=False),
        sa.Column("registered", tz, nullable=False),
    )
    op.create_table(
        "actuation_switching",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("segment_id", sa.String(64), nullable=False, index=True),
        sa.Column("controller_id", sa.String(64), nullable=False),
        sa.Column("pseudonym", sa.String(32), nullable=False, index=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("night", sa.String(10), nullable=False, index=True),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("reason", sa.String(500)),
        sa.Column("created", tz, nullable=False),
        sa.Column("updated", tz, nullable=False),
        sa.Column("expires", tz, nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("queue_item", sa.String(64), index=True),
        sa.Column("coalesced_into", sa.String(32)),
        sa.Column("on_from", tz),
        sa.Column("on_until", tz),
        sa.Column("watts", sa.Float(), nullable=False),
    )
    op.create_table(
        "actuation_policy",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("installed", tz, nullable=False),
    )


def downgrade() -> None:
    for table in ("actuation_policy", "actuation_switching", "actuation_segment"):
        op.drop_table(table)
    op.drop_table("actuation_controller")
