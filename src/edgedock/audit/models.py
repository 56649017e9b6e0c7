"""Audit event rows. Ids referenced here are plain values: the trail outlives what it names."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edgedock.db import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_tenant_seq", "tenant_id", "seq"),
        Index("ix_audit_event_tenant_credentials", "tenant_id", "credentials_id"),
        Index("ix_audit_event_tenant_device", "tenant_id", "device_id"),
        UniqueConstraint("tenant_id", "collapse_key"),
    )

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(140))
    action: Mapped[str] = mapped_column(String(60))
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    credentials_id: Mapped[uuid.UUID | None]
    device_id: Mapped[uuid.UUID | None]
    summary: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Repeats of one failure (a device retrying a refused pull) are one record: `collapse_key`
    # names the failure while it lasts (NULL once it is over, and for every other event), and
    # each repeat counts here with its time, by an upsert on the key (audit/service.py).
    count: Mapped[int] = mapped_column(default=1, server_default="1")
    last_at: Mapped[datetime | None]
    collapse_key: Mapped[str | None] = mapped_column(String(64))
