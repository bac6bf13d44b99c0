"""Catalog: datasets and their distributions.

Revision ID: catalog1
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "catalog1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_dataset",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("license", sa.String(300), nullable=False),
        sa.Column("access_rights", sa.String(300), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("issued", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False, index=True),
    )
    op.create_index("ix_catalog_dataset_status_id", "catalog_dataset", ["status", "id"])
    op.create_table(
        "catalog_distribution",
        sa.Column(
            "dataset_id", sa.String(64), sa.ForeignKey("catalog_dataset.id"), primary_key=True
        ),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("media_type", sa.String(200), nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True, index=True),
        sa.Column("byte_size", sa.BigInteger(), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("catalog_distribution")
    op.drop_table("catalog_dataset")
