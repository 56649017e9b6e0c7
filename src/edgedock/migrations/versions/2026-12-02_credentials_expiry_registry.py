"""Image credentials: where their expiry came from, the expiry state audited, the bound registry.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02 07:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("image_credential", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at_source", sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column("expiry_state_recorded", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("registry", sa.String(length=255), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_image_credential_expires_at"), ["expires_at"], unique=False
        )
    # Every expiry that exists so far was read from the token.
    op.execute(
        "UPDATE image_credential SET expires_at_source = 'token' WHERE expires_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("image_credential", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_image_credential_expires_at"))
        batch_op.drop_column("registry")
        batch_op.drop_column("expiry_state_recorded")
        batch_op.drop_column("expires_at_source")
