"""Repeated events and failures counted in one row; what a device's engine actually runs.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 18:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import edgedock.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deployment_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("count", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(
            sa.Column("last_at", edgedock.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("count", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(
            sa.Column("last_at", edgedock.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("collapse_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_audit_event_tenant_id_collapse_key"), ["tenant_id", "collapse_key"]
        )
    op.create_table(
        "running_container",
        sa.Column("deployment_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("container_id", sa.Uuid(), nullable=True),
        sa.Column("image", sa.String(length=1000), nullable=False),
        sa.Column("release_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reported_at", edgedock.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployment.id"],
            name=op.f("fk_running_container_deployment_id_deployment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("deployment_id", "name", name=op.f("pk_running_container")),
    )


def downgrade() -> None:
    op.drop_table("running_container")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_audit_event_tenant_id_collapse_key"), type_="unique"
        )
        batch_op.drop_column("collapse_key")
        batch_op.drop_column("last_at")
        batch_op.drop_column("count")
    with op.batch_alter_table("deployment_event", schema=None) as batch_op:
        batch_op.drop_column("last_at")
        batch_op.drop_column("count")
