"""What a device is about to pull: one container of one of its deployments, with its credentials.

One query joins the deployment, the release container and the image credentials, so registry
auth costs a single read (and no write transaction of its own: its audit event is grouped).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.credentials.models import ImageCredential
from edgedock.deployments.models import Deployment
from edgedock.releases.models import ReleaseContainer


@dataclass(frozen=True, slots=True)
class PullTarget:
    name: str
    image: str
    image_canonical: str
    credentials: ImageCredential | None
    credentials_deleted_id: uuid.UUID | None
    credentials_deleted_at: datetime | None


# Built once: constructing a statement costs more than running it on this path.
_FIND = (
    select(
        ReleaseContainer.name,
        ReleaseContainer.image,
        ReleaseContainer.image_canonical,
        ReleaseContainer.credentials_deleted_id,
        ReleaseContainer.credentials_deleted_at,
        ImageCredential,
    )
    .join(Deployment, Deployment.release_id == ReleaseContainer.release_id)
    .outerjoin(
        ImageCredential,
        (ImageCredential.id == ReleaseContainer.image_credentials_id)
        & (ImageCredential.tenant_id == bindparam("tenant_id")),
    )
    .where(
        Deployment.id == bindparam("deployment_id"),
        Deployment.device_id == bindparam("device_id"),
        Deployment.tenant_id == bindparam("tenant_id"),
        ReleaseContainer.id == bindparam("container_id"),
    )
)


async def find(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    device_id: uuid.UUID,
    deployment_id: uuid.UUID,
    container_id: uuid.UUID,
) -> PullTarget | None:
    """The container when it belongs to a current deployment of this device, else None."""
    params = {
        "tenant_id": tenant_id,
        "device_id": device_id,
        "deployment_id": deployment_id,
        "container_id": container_id,
    }
    row = (await session.execute(_FIND, params)).first()
    if row is None:
        return None
    return PullTarget(
        name=row.name,
        image=row.image,
        image_canonical=row.image_canonical,
        credentials=row.ImageCredential,
        credentials_deleted_id=row.credentials_deleted_id,
        credentials_deleted_at=row.credentials_deleted_at,
    )
