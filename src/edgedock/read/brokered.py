"""Which images a tenant's brokered registries serve, and which devices pull from one.

A container whose image is on a brokered registry (and that names no stored credentials) is
pulled with a pull secret: the desired state then says it needs credentials, the device asks
for its registry auth, and the release and deployment pages show it as brokered.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import references
from edgedock.deployments.models import Deployment
from edgedock.registries.models import BrokeredRegistry
from edgedock.releases.models import Release, ReleaseContainer

# tenant → registry host → brokered registry id
Hosts = dict[uuid.UUID, dict[str, uuid.UUID]]


async def hosts(session: AsyncSession, tenant_ids: Collection[uuid.UUID]) -> Hosts:
    found: Hosts = {}
    if not tenant_ids:
        return found
    rows = await session.execute(
        select(BrokeredRegistry.tenant_id, BrokeredRegistry.host, BrokeredRegistry.id).where(
            BrokeredRegistry.tenant_id.in_(list(set(tenant_ids)))
        )
    )
    for tenant_id, host, registry_id in rows:
        found.setdefault(tenant_id, {})[host] = registry_id
    return found


def registry_for(
    found: Hosts, *, tenant_id: uuid.UUID, image_domain: str, image_credentials_id: object
) -> uuid.UUID | None:
    """The brokered registry that serves this container, if it names no stored credentials."""
    if image_credentials_id is not None:
        return None  # stored credentials keep their path, brokered registry or not
    return found.get(tenant_id, {}).get(references.registry_of(image_domain))


async def devices_pulling_from(
    session: AsyncSession, *, tenant_id: uuid.UUID, host: str
) -> list[uuid.UUID]:
    """Devices with a deployment whose release has an image on `host` (normalized)."""
    rows = await session.execute(
        select(Deployment.device_id, ReleaseContainer.image_domain)
        .join(Release, Release.id == Deployment.release_id)
        .join(ReleaseContainer, ReleaseContainer.release_id == Release.id)
        .where(Deployment.tenant_id == tenant_id)
        .distinct()
    )
    return list({device for device, domain in rows if references.registry_of(domain) == host})
