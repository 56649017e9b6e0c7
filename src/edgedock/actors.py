"""Who is acting: every request runs for one tenant, as one named token or device."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    tenant_id: uuid.UUID
    name: str  # shown in the audit trail: "token:ci", "device:gw-7", "admin:cli"
