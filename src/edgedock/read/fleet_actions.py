"""What the fleet-action forms offer: releases to deploy on a device, devices to deploy a
release to (and what each already runs), and the deployments a release can take over."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.applications.models import Application
from edgedock.deployments.models import Deployment
from edgedock.deployments.schemas import UpgradeSkipped
from edgedock.devices.models import Device
from edgedock.pagination import matching
from edgedock.releases.models import Release

# A form lists at most this many choices; past it the page asks for a narrower filter.
MAX_CHOICES = 500


@dataclass(frozen=True, slots=True)
class ReleaseChoice:
    id: uuid.UUID
    version: str
    deployed_here: bool


@dataclass(slots=True)
class ReleaseGroup:
    application: str
    # The release of this application the device runs, if any: deploying another one is
    # refused (one deployment per application and device), upgrading is the way.
    deployed_version: str | None = None
    releases: list[ReleaseChoice] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DeviceChoice:
    id: uuid.UUID
    name: str
    runs: str | None  # the version of this release's application it runs, if any
    runs_this: bool


@dataclass(frozen=True, slots=True)
class UpgradeSource:
    release_id: uuid.UUID
    version: str
    deployments: int


async def release_groups(
    session: AsyncSession, *, tenant_id: uuid.UUID, device_id: uuid.UUID
) -> list[ReleaseGroup]:
    """The tenant's releases by application (names in order, newest release first)."""
    deployed = dict(
        (
            await session.execute(
                select(Deployment.application_id, Deployment.release_id).where(
                    Deployment.device_id == device_id
                )
            )
        ).all()
    )
    rows = await session.execute(
        select(Application.id, Application.name, Release.id, Release.version)
        .join(Release, Release.application_id == Application.id)
        .where(Application.tenant_id == tenant_id)
        .order_by(Application.name_key, Release.created_at.desc(), Release.id)
        .limit(MAX_CHOICES)
    )
    groups: dict[uuid.UUID, ReleaseGroup] = {}
    for app_id, app_name, release_id, version in rows:
        group = groups.setdefault(app_id, ReleaseGroup(app_name))
        here = deployed.get(app_id) == release_id
        if here:
            group.deployed_version = version
        group.releases.append(ReleaseChoice(release_id, version, here))
    return list(groups.values())


async def device_choices(
    session: AsyncSession, *, tenant_id: uuid.UUID, release: Release, q: str | None
) -> list[DeviceChoice]:
    """Devices whose name contains `q`, each with the release of this application it runs."""
    named = matching(select(Device.id).where(Device.tenant_id == tenant_id), q, Device.name_key)
    stmt = (
        select(Device.id, Device.name, Release.id, Release.version)
        .outerjoin(
            Deployment,
            (Deployment.device_id == Device.id)
            & (Deployment.application_id == release.application_id),
        )
        .outerjoin(Release, Release.id == Deployment.release_id)
        .where(Device.id.in_(named))
        .order_by(Device.name_key, Device.id)
        .limit(MAX_CHOICES)
    )
    rows = await session.execute(stmt)
    return [
        DeviceChoice(device_id, name, version, runs == release.id)
        for device_id, name, runs, version in rows
    ]


async def upgrade_sources(session: AsyncSession, *, release: Release) -> list[UpgradeSource]:
    """The other releases of `release`'s application that have deployments, newest first."""
    rows = await session.execute(
        select(Release.id, Release.version, func.count(Deployment.id))
        .join(Deployment, Deployment.release_id == Release.id)
        .where(Release.application_id == release.application_id, Release.id != release.id)
        .group_by(Release.id, Release.version, Release.created_at)
        .order_by(Release.created_at.desc(), Release.id)
    )
    return [UpgradeSource(r, v, n) for r, v, n in rows]


@dataclass(frozen=True, slots=True)
class Running:
    deployment_id: uuid.UUID
    release_id: uuid.UUID
    version: str


async def running(
    session: AsyncSession, *, application_id: uuid.UUID, device_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Running]:
    """Per device among `device_ids`: its deployment of the application, if it has one."""
    rows = await session.execute(
        select(Deployment.device_id, Deployment.id, Release.id, Release.version)
        .join(Release, Release.id == Deployment.release_id)
        .where(Deployment.device_id.in_(device_ids), Deployment.application_id == application_id)
    )
    return {device: Running(d, r, v) for device, d, r, v in rows}


async def device_names(
    session: AsyncSession, *, tenant_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(Device.id, Device.name).where(Device.tenant_id == tenant_id, Device.id.in_(ids))
    )
    return dict(rows.all())


async def not_upgraded(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    source: Release,
    target: Release,
    device_ids: list[uuid.UUID],
    upgraded: set[uuid.UUID],
) -> list[UpgradeSkipped]:
    """Why each of the devices named for an upgrade of `source` was not upgraded."""
    rest = [d for d in dict.fromkeys(device_ids) if d not in upgraded]
    if not rest:
        return []
    names = await device_names(session, tenant_id=tenant_id, ids=rest)
    runs = await running(session, application_id=source.application_id, device_ids=rest)
    skipped = []
    for device_id in rest:
        if device_id not in names:
            reason = "no such device"
        elif device_id not in runs:
            reason = "the application is not deployed there"
        elif runs[device_id].release_id == target.id:
            reason = f"already runs {target.version}"
        else:
            reason = f"runs {runs[device_id].version}, not {source.version}"
        skipped.append(
            UpgradeSkipped(device_id=device_id, device=names.get(device_id), reason=reason)
        )
    return skipped
