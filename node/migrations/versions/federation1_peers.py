"""Federation: trusted peers, transport positions, the pooled catalog.

Revision ID: federation1
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "federation1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_peer",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("jwk", sa.Text(), nullable=True),
        sa.Column("jwks_url", sa.String(500), nullable=False),
        sa.Column("base_url", sa.String(300), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("added", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "federation_position",
        sa.Column("name", sa.String(320), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "federation_dataset",
        sa.Column("origin", sa.String(300), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("base", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    for table in ("federation_dataset", "federation_position", "federation_peer"):
        op.drop_table(table)
