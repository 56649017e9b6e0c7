"""The stored projection of each device's desired state (body and ETag).

Rows are built by the server: at start-up it projects every device that has deployments and no
row yet, so this migration creates the table only.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import edgedock.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "device_desired_state",
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("etag", sa.String(length=34), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", edgedock.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_device_desired_state_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_desired_state")),
    )


def downgrade() -> None:
    op.drop_table("device_desired_state")
