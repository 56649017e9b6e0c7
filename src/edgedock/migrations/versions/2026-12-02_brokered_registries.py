"""Brokered registries: the registry, its signing keys, its accounts and devices' pull secrets.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 18:10:38.202468
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import edgedock.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "brokered_registry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("service", sa.String(length=255), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("current_generation", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", edgedock.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_brokered_registry_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brokered_registry")),
        sa.UniqueConstraint("tenant_id", "host", name=op.f("uq_brokered_registry_tenant_id_host")),
    )
    with op.batch_alter_table("brokered_registry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_brokered_registry_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "registry_account",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("registry_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("access", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", edgedock.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["registry_id"],
            ["brokered_registry.id"],
            name=op.f("fk_registry_account_registry_id_brokered_registry"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_registry_account_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_account")),
        sa.UniqueConstraint(
            "registry_id", "name", name=op.f("uq_registry_account_registry_id_name")
        ),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_registry_account_secret_hash")),
    )
    with op.batch_alter_table("registry_account", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_account_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "registry_signing_key",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("registry_id", sa.Uuid(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("secret_key_id", sa.String(length=32), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("certificate", sa.String(length=2000), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("created_at", edgedock.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["registry_id"],
            ["brokered_registry.id"],
            name=op.f("fk_registry_signing_key_registry_id_brokered_registry"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_registry_signing_key_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_signing_key")),
        sa.UniqueConstraint(
            "registry_id", "generation", name=op.f("uq_registry_signing_key_registry_id_generation")
        ),
    )
    with op.batch_alter_table("registry_signing_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_signing_key_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "registry_pull_secret",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("registry_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("deployment_id", sa.Uuid(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("repository", sa.String(length=600), nullable=False),
        sa.Column("created_at", edgedock.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", edgedock.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployment.id"],
            name=op.f("fk_registry_pull_secret_deployment_id_deployment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_registry_pull_secret_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["registry_id"],
            ["brokered_registry.id"],
            name=op.f("fk_registry_pull_secret_registry_id_brokered_registry"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_registry_pull_secret_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_pull_secret")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_registry_pull_secret_secret_hash")),
    )
    with op.batch_alter_table("registry_pull_secret", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_pull_secret_deployment_id"), ["deployment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_pull_secret_device_id"), ["device_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_pull_secret_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_pull_secret_registry_id"), ["registry_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("registry_pull_secret", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_pull_secret_registry_id"))
        batch_op.drop_index(batch_op.f("ix_registry_pull_secret_expires_at"))
        batch_op.drop_index(batch_op.f("ix_registry_pull_secret_device_id"))
        batch_op.drop_index(batch_op.f("ix_registry_pull_secret_deployment_id"))

    op.drop_table("registry_pull_secret")
    with op.batch_alter_table("registry_signing_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_signing_key_tenant_id"))

    op.drop_table("registry_signing_key")
    with op.batch_alter_table("registry_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_account_tenant_id"))

    op.drop_table("registry_account")
    with op.batch_alter_table("brokered_registry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_brokered_registry_tenant_id"))

    op.drop_table("brokered_registry")
