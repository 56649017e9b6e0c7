"""Tenant rows."""

from __future__ import annotations

import uuid

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from edgedock.db import Base, CreatedAt, new_id


class Tenant(CreatedAt, Base):
    __tablename__ = "tenant"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    # Each tenant's fingerprint key is random and stored sealed under the keyring, so
    # fingerprints stay stable across key rotations yet cannot be brute-forced from the database.
    fingerprint_key_id: Mapped[str] = mapped_column(String(32))
    fingerprint_key: Mapped[bytes]
