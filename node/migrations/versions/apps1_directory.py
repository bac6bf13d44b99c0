"""App directory: registered apps, residents' consents, authorization codes and app tokens.

Revision ID: apps1
Revises: usage1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "apps1"
down_revision = "usage1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "apps_app",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("secret_digest", sa.String(64), nullable=True),
        sa.Column("registration_digest", sa.String(64), nullable=False),
        sa.Column("metadata_json", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("reason", sa.String(1000), nullable=True),
        sa.Column("approved_version", sa.String(64), nullable=True),
        sa.Column("approved_scopes", sa.Text(), nullable=False),
        sa.Column("approved_manifest", sa.Text(), nullable=True),
        sa.Column("agreements", sa.Text(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sandbox_agreements", sa.Text(), nullable=False),
    )
    op.create_table(
        "apps_consent",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False, index=True),
        sa.Column("resident", sa.String(300), nullable=False, index=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "apps_code",
        sa.Column("code", sa.String(128), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("redirect_uri", sa.String(2000), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("resident", sa.String(300), nullable=False),
        sa.Column("consent_id", sa.String(64), nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=True),
        sa.Column("code_challenge_method", sa.String(8), nullable=True),
        sa.Column("auth_time", sa.Integer(), nullable=False),
    )
    op.create_table(
        "apps_token",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False, index=True),
        sa.Column("consent_id", sa.String(64), nullable=True, index=True),
        sa.Column("resident", sa.String(300), nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("dataset_id", sa.String(64), nullable=True),
        sa.Column("agreement_id", sa.String(300), nullable=True),
        sa.Column("issued_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("revoked", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("apps_token")
    op.drop_table("apps_code")
    op.drop_table("apps_consent")
    op.drop_table("apps_app")
