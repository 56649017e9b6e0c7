"""Audit trail read models and filters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, field_validator


class AuditEventRead(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    resource_type: str
    resource_id: str | None
    credentials_id: uuid.UUID | None
    device_id: uuid.UUID | None
    summary: str
    details: dict[str, Any]


class AuditFilter(BaseModel):
    credentials_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """A time without a zone is taken as UTC (timestamps are stored in UTC)."""
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
