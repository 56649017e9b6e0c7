"""Image credential rows: the password is stored only sealed (see edgedock.crypto)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edgedock.db import Base, CreatedAt, new_id


class ImageCredential(CreatedAt, Base):
    __tablename__ = "image_credential"
    __table_args__ = (UniqueConstraint("tenant_id", "label_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(100))
    # casefolded label: uniqueness is case-insensitive on every backend
    label_key: Mapped[str] = mapped_column(String(400))
    username: Mapped[str] = mapped_column(String(255))
    secret_key_id: Mapped[str] = mapped_column(String(32))
    secret: Mapped[bytes]
    fingerprint: Mapped[str] = mapped_column(String(19))
    token_kind: Mapped[str | None] = mapped_column(String(20))
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    # "token" when the password carries the expiry, "given" when the creator set an earlier one
    expires_at_source: Mapped[str | None] = mapped_column(String(5))
    # The last expiry state written to the audit trail ("expiring", "expired"): each is
    # recorded once, by whichever sweep or registry auth moves this column first.
    expiry_state_recorded: Mapped[str | None] = mapped_column(String(10))
    # The registry host these credentials are bound to (references.normalize_registry), if any.
    # Not named `registry` in Python: that is the declarative base's own attribute.
    bound_registry: Mapped[str | None] = mapped_column("registry", String(255))
    created_by: Mapped[str] = mapped_column(String(120))
    # The last check against the registry (credentials/checks.py); the message is scrubbed of
    # every form of the password before it is stored.
    last_check_at: Mapped[datetime | None]
    last_check_ok: Mapped[bool | None]
    last_check_status: Mapped[str | None] = mapped_column(String(32))
    last_check_message: Mapped[str | None] = mapped_column(String(500))
    last_check_image: Mapped[str | None] = mapped_column(String(600))
    last_check_registry: Mapped[str | None] = mapped_column(String(255))
    # What the registry granted on the checked image (Bearer only; None when it does not say).
    can_push: Mapped[bool | None]

    @property
    def aad(self) -> str:
        return secret_context(self.tenant_id, self.id)


def secret_context(tenant_id: uuid.UUID, credential_id: uuid.UUID) -> str:
    return f"image_credential:{tenant_id}:{credential_id}"
