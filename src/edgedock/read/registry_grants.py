"""What a pull secret stands for at the token endpoint: its device and what that device may pull.

One query per token request, rows of plain columns (no ORM objects: a fleet pulling after a
roll-out asks for thousands of tokens a minute). The secret's foreign keys cascade, so a
deleted device or deployment has taken its secrets with it and nothing is found.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import references
from edgedock.deployments.models import Deployment
from edgedock.devices.models import Device
from edgedock.registries.models import RegistryPullSecret
from edgedock.releases.models import ReleaseContainer


@dataclass(frozen=True, slots=True)
class DeviceGrant:
    device_id: uuid.UUID
    device_name: str
    tenant_id: uuid.UUID
    repositories: frozenset[str]  # on this registry, across the device's current deployments


_FIND = (
    select(
        RegistryPullSecret.device_id,
        RegistryPullSecret.tenant_id,
        Device.name,
        ReleaseContainer.image_domain,
        ReleaseContainer.image_canonical,
        ReleaseContainer.image_credentials_id,
    )
    .join(Device, Device.id == RegistryPullSecret.device_id)
    .join(Deployment, Deployment.device_id == RegistryPullSecret.device_id)
    .join(ReleaseContainer, ReleaseContainer.release_id == Deployment.release_id)
    .where(
        RegistryPullSecret.secret_hash == bindparam("secret_hash"),
        RegistryPullSecret.registry_id == bindparam("registry_id"),
        RegistryPullSecret.expires_at > bindparam("now"),
        Deployment.tenant_id == RegistryPullSecret.tenant_id,
    )
)


async def find_device_grant(
    session: AsyncSession,
    *,
    registry_id: uuid.UUID,
    host: str,
    secret_hash: str,
    now: datetime,
) -> DeviceGrant | None:
    rows = (
        await session.execute(
            _FIND, {"secret_hash": secret_hash, "registry_id": registry_id, "now": now}
        )
    ).all()
    if not rows:
        return None
    repositories = {
        references.parse(row.image_canonical).path
        for row in rows
        if row.image_credentials_id is None and references.registry_of(row.image_domain) == host
    }
    first = rows[0]
    return DeviceGrant(
        device_id=first.device_id,
        device_name=first.name,
        tenant_id=first.tenant_id,
        repositories=frozenset(repositories),
    )
