"""The last check of image credentials against their registry: when, the outcome, push rights.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 07:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import edgedock.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("image_credential", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_check_at", edgedock.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_check_ok", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("last_check_status", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("last_check_message", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("last_check_image", sa.String(length=600), nullable=True))
        batch_op.add_column(sa.Column("last_check_registry", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("can_push", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("image_credential", schema=None) as batch_op:
        batch_op.drop_column("can_push")
        batch_op.drop_column("last_check_registry")
        batch_op.drop_column("last_check_image")
        batch_op.drop_column("last_check_message")
        batch_op.drop_column("last_check_status")
        batch_op.drop_column("last_check_ok")
        batch_op.drop_column("last_check_at")
