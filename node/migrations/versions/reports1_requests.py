"""Mängelmelder: categories, client apps, reports, reporters, updates, boundaries, settings.

Revision ID: reports1
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "reports1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "report_category",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("description", sa.String(2000), nullable=False),
        sa.Column("group", sa.String(200), nullable=False),
        sa.Column("keywords", sa.String(500), nullable=False),
        sa.Column("department", sa.String(200), nullable=False),
        sa.Column("contact", sa.String(300), nullable=False),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.Column("link", sa.String(500), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created", tz, nullable=False),
    )
    op.create_table(
        "report_client",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, index=True),
        sa.Column("created", tz, nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "report_request",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("token", sa.String(32), nullable=False, index=True),
        sa.Column("origin", sa.String(500), nullable=False),
        sa.Column("responsible", sa.String(500), nullable=False, index=True),
        sa.Column("service_code", sa.String(64), nullable=False, index=True),
        sa.Column("service_name", sa.String(200), nullable=False),
        sa.Column("description", sa.String(4000), nullable=False),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float()),
        sa.Column("long", sa.Float()),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("media_url", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("status_notes", sa.String(2000), nullable=False),
        sa.Column("routing", sa.String(16), nullable=False),
        sa.Column("acknowledged", tz),
        sa.Column("requested", tz, nullable=False, index=True),
        sa.Column("updated", tz, nullable=False),
        sa.Column("closed", tz),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("supporters", sa.Integer(), nullable=False),
    )
    op.create_table(
        "report_reporter",
        sa.Column("report_id", sa.String(32), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("first_name", sa.String(200), nullable=False),
        sa.Column("last_name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(32), nullable=False),
    )
    op.create_table(
        "report_update",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("report_id", sa.String(32), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("description", sa.String(2000), nullable=False),
        sa.Column("author", sa.String(500), nullable=False),
        sa.Column("time", tz, nullable=False, index=True),
    )
    op.create_table(
        "report_boundary",
        sa.Column("node", sa.String(500), primary_key=True),
        sa.Column("ags", sa.String(12), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("sample", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("updated", tz, nullable=False),
    )
    op.create_table(
        "report_setting",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(2000), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "report_setting",
        "report_boundary",
        "report_update",
        "report_reporter",
        "report_request",
        "report_client",
        "report_category",
    ):
        op.drop_table(table)
