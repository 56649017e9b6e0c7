"""What devices are about to pull: a container of one of their deployments, with its credentials.

One query joins the deployments, the release containers and the image credentials for all the
registry auths in flight (device_api/pull_cache.py groups them); built once, since constructing
a statement costs more than running it on this path.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.credentials.models import ImageCredential
from edgedock.deployments.models import Deployment
from edgedock.read import brokered
from edgedock.releases.models import ReleaseContainer


@dataclass(frozen=True, slots=True)
class PullTarget:
    name: str
    image: str
    image_canonical: str
    credentials: ImageCredential | None
    credentials_deleted_id: uuid.UUID | None
    credentials_deleted_at: datetime | None
    tenant_id: uuid.UUID | None = None
    # Set when the image is on one of the tenant's brokered registries and the container names
    # no credentials: the device then gets a pull secret (registries/pull_secrets.py).
    brokered_registry_id: uuid.UUID | None = None


Key = tuple[uuid.UUID, uuid.UUID, uuid.UUID]  # device, deployment, container

_FIND_MANY = (
    select(
        Deployment.id.label("deployment_id"),
        Deployment.device_id,
        Deployment.tenant_id,
        ReleaseContainer.id.label("container_id"),
        ReleaseContainer.name,
        ReleaseContainer.image,
        ReleaseContainer.image_canonical,
        ReleaseContainer.image_domain,
        ReleaseContainer.image_credentials_id,
        ReleaseContainer.credentials_deleted_id,
        ReleaseContainer.credentials_deleted_at,
        ImageCredential,
    )
    .join(Deployment, Deployment.release_id == ReleaseContainer.release_id)
    .outerjoin(ImageCredential, ImageCredential.id == ReleaseContainer.image_credentials_id)
    .where(
        Deployment.id.in_(bindparam("deployment_ids", expanding=True)),
        ReleaseContainer.id.in_(bindparam("container_ids", expanding=True)),
    )
)


async def find_many(session: AsyncSession, keys: list[Key]) -> dict[Key, PullTarget]:
    """`find` for many (device, deployment, container) at once: one query for all of them.

    The query may return pairs nobody asked for (any deployment with any container id); only
    the asked-for keys whose deployment is that device's are kept.
    """
    wanted = set(keys)
    params = {
        "deployment_ids": list({k[1] for k in keys}),
        "container_ids": list({k[2] for k in keys}),
    }
    found: dict[Key, PullTarget] = {}
    rows = [
        row
        for row in await session.execute(_FIND_MANY, params)
        if (row.device_id, row.deployment_id, row.container_id) in wanted
    ]
    uncredentialed = {row.tenant_id for row in rows if row.image_credentials_id is None}
    hosts = await brokered.hosts(session, uncredentialed)
    for row in rows:
        key = (row.device_id, row.deployment_id, row.container_id)
        credentials = row.ImageCredential
        if credentials is not None and credentials.tenant_id != row.tenant_id:
            credentials = None  # never another tenant's, whatever a row says
        found[key] = PullTarget(
            name=row.name,
            image=row.image,
            image_canonical=row.image_canonical,
            credentials=credentials,
            credentials_deleted_id=row.credentials_deleted_id,
            credentials_deleted_at=row.credentials_deleted_at,
            tenant_id=row.tenant_id,
            brokered_registry_id=brokered.registry_for(
                hosts,
                tenant_id=row.tenant_id,
                image_domain=row.image_domain,
                image_credentials_id=row.image_credentials_id,
            )
            if row.credentials_deleted_at is None
            else None,
        )
    return found
