"""Audit trail read models and filters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, field_validator

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


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
    count: int = 1  # repeats of one failure, recorded once (audit/service.py)
    last_at: datetime | None = None


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
        """In UTC, as timestamps are stored; a time without a zone is taken as UTC.

        A time at the calendar's edge whose UTC form is past year 1 or 9999 (`0001-01-01T00:00
        +01:00`) is clamped to that edge: it filters the same rows and no driver can bind it.
        """
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except OverflowError:
            return EARLIEST if value.year == datetime.min.year else LATEST
