"""Device input and read models. The device token appears only in DeviceCreated, once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from edgedock.text import clean_name


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return clean_name(value, what="name", max_length=100)


class DeviceRead(BaseModel):
    id: uuid.UUID
    name: str
    created_at: datetime
    last_seen_at: datetime | None
    online: bool
    engine: dict[str, Any] | None
    deployment_count: int = 0


class DeviceCreated(DeviceRead):
    token: str
