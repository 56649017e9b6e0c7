"""Tenant read model."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class TenantRead(BaseModel):
    id: uuid.UUID
    slug: str
    created_at: datetime
