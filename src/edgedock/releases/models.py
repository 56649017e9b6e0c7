"""Release and release-container rows. Neither is ever updated, except the tombstone."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from edgedock.db import Base, CreatedAt, new_id


class Release(CreatedAt, Base):
    __tablename__ = "release"
    __table_args__ = (UniqueConstraint("application_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("application.id", ondelete="RESTRICT"), index=True
    )
    version: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(120))
    containers: Mapped[list[ReleaseContainer]] = relationship(
        lazy="raise", order_by="ReleaseContainer.position", cascade="all, delete-orphan"
    )


class ReleaseContainer(Base):
    __tablename__ = "release_container"
    __table_args__ = (UniqueConstraint("release_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    release_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("release.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(63))
    image: Mapped[str] = mapped_column(String(600))
    image_canonical: Mapped[str] = mapped_column(String(600))
    image_domain: Mapped[str] = mapped_column(String(255))
    image_credentials_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("image_credential.id", ondelete="SET NULL"), index=True
    )
    # The tombstone: after a forced delete the id (for devices, which never see labels) and the
    # label (for people) are kept, so a later pull can say which credentials are gone.
    credentials_label: Mapped[str | None] = mapped_column(String(100))
    credentials_deleted_at: Mapped[datetime | None]
    credentials_deleted_id: Mapped[uuid.UUID | None]
    # The runtime settings, `container_spec.ContainerSettings.stored()`: one JSON document, so
    # that the API, this row, the wire and the agent share one definition, and a setting added
    # later needs a default, not a migration. Nothing queries inside it; releases are immutable.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
