"""Which deployments keep releases in use: a deployed release cannot be deleted.

Read from the deployment rows directly (not through the deployments service), which keeps the
service graph a DAG: deployments → releases, never back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.deployments.models import Deployment
from edgedock.devices.models import Device
from edgedock.releases.models import Release, ReleaseContainer


@dataclass(frozen=True, slots=True)
class DeploymentRef:
    deployment_id: uuid.UUID
    device_id: uuid.UUID
    device: str
    version: str


async def deployments(
    session: AsyncSession,
    *,
    release_id: uuid.UUID | None = None,
    application_id: uuid.UUID | None = None,
) -> list[DeploymentRef]:
    """The deployments that keep a release (or any release of an application) in use."""
    stmt = (
        select(Deployment.id, Device.id, Device.name, Release.version)
        .join(Release, Deployment.release_id == Release.id)
        .join(Device, Deployment.device_id == Device.id)
        .order_by(Device.name_key, Deployment.id)
    )
    if release_id is not None:
        stmt = stmt.where(Deployment.release_id == release_id)
    if application_id is not None:
        stmt = stmt.where(Release.application_id == application_id)
    return [DeploymentRef(*row) for row in (await session.execute(stmt)).all()]


def describe(refs: list[DeploymentRef]) -> str:
    devices = sorted({d.device for d in refs})
    shown = ", ".join(devices[:5]) + (f" and {len(devices) - 5} more" if len(devices) > 5 else "")
    return f"deployed on {len(devices)} device(s) ({shown}); delete those deployments first"


def details(refs: list[DeploymentRef]) -> dict[str, object]:
    return {
        "deployments": [
            {
                "deployment_id": str(d.deployment_id),
                "device_id": str(d.device_id),
                "device": d.device,
                "version": d.version,
            }
            for d in refs
        ]
    }


async def devices_pulling_with(
    session: AsyncSession, *, credential_id: uuid.UUID
) -> set[uuid.UUID]:
    """The devices whose current deployments have a container that needs these credentials."""
    stmt = (
        select(Deployment.device_id)
        .join(ReleaseContainer, ReleaseContainer.release_id == Deployment.release_id)
        .where(ReleaseContainer.image_credentials_id == credential_id)
        .distinct()
    )
    return set((await session.scalars(stmt)).all())
