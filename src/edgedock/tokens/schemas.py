"""API token read models: the token itself appears only in TokenCreated, once."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class TokenRead(BaseModel):
    id: uuid.UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
