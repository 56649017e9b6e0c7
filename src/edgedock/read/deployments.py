"""Reading deployments: read models for people, and the desired state for devices.

Both are built from the same bulk load (four queries whatever the number of deployments), so
that a device's long poll and the deployments page cost the same handful of round trips.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.applications.models import Application
from edgedock.deployments.models import ContainerState, Deployment, DeploymentEvent
from edgedock.deployments.schemas import (
    ContainerStateRead,
    DeploymentEventRead,
    DeploymentRead,
    OverallStatus,
)
from edgedock.devices.models import Device
from edgedock.pagination import Keyset, Page, SortKey
from edgedock.read import brokered
from edgedock.read.desired_state import needs_credentials
from edgedock.releases.models import Release, ReleaseContainer

DEPLOYMENT_ORDER = Keyset(
    "deployments",
    (SortKey(Deployment.created_at, "datetime"), SortKey(Deployment.id, "uuid")),
    descending=True,
)
EVENT_ORDER = Keyset("deployment_events", (SortKey(DeploymentEvent.seq, "int"),), descending=True)


@dataclass
class Loaded:
    """A deployment with everything its read model and its desired state need."""

    deployment: Deployment
    device: Device
    release: Release
    application: Application
    containers: list[ReleaseContainer]
    states: dict[uuid.UUID, ContainerState]
    # The tenant's brokered registries (host → id): their containers pull with a pull secret.
    brokered_hosts: brokered.Hosts | None = None


async def load(session: AsyncSession, deployments: list[Deployment]) -> list[Loaded]:
    if not deployments:
        return []
    release_ids = {d.release_id for d in deployments}
    rows = (
        await session.execute(
            select(Release, Application)
            .join(Application, Application.id == Release.application_id)
            .where(Release.id.in_(release_ids))
        )
    ).all()
    releases = {r.id: (r, a) for r, a in rows}
    containers: defaultdict[uuid.UUID, list[ReleaseContainer]] = defaultdict(list)
    for c in await session.scalars(
        select(ReleaseContainer)
        .where(ReleaseContainer.release_id.in_(release_ids))
        .order_by(ReleaseContainer.position)
    ):
        containers[c.release_id].append(c)
    devices = {
        d.id: d
        for d in await session.scalars(
            select(Device).where(Device.id.in_({d.device_id for d in deployments}))
        )
    }
    states: defaultdict[uuid.UUID, dict[uuid.UUID, ContainerState]] = defaultdict(dict)
    for s in await session.scalars(
        select(ContainerState).where(ContainerState.deployment_id.in_([d.id for d in deployments]))
    ):
        states[s.deployment_id][s.container_id] = s
    hosts = await brokered.hosts(session, {d.tenant_id for d in deployments})
    return [
        Loaded(
            d,
            devices[d.device_id],
            releases[d.release_id][0],
            releases[d.release_id][1],
            containers[d.release_id],
            states[d.id],
            hosts,
        )
        for d in deployments
    ]


def overall_status(statuses: list[str], desired: str) -> OverallStatus:
    if not statuses:
        return "stopped" if desired == "stopped" else "running"
    if "error" in statuses:
        return "error"
    for status in ("pulling", "pending", "created"):
        if status in statuses:
            return status
    unique = set(statuses)
    return unique.pop() if len(unique) == 1 else "mixed"  # type: ignore[return-value]


def to_read(loaded: Loaded) -> DeploymentRead:
    containers = []
    for c in loaded.containers:
        state = loaded.states.get(c.id)
        via = brokered.registry_for(
            loaded.brokered_hosts or {},
            tenant_id=loaded.deployment.tenant_id,
            image_domain=c.image_domain,
            image_credentials_id=c.image_credentials_id,
        )
        is_brokered = via is not None and c.credentials_deleted_at is None
        containers.append(
            ContainerStateRead(
                id=c.id,
                name=c.name,
                image=c.image,
                needs_credentials=needs_credentials(c, brokered=is_brokered),
                brokered=is_brokered,
                credentials_id=c.image_credentials_id,
                credentials_label=c.credentials_label,
                credentials_deleted=c.credentials_deleted_at is not None,
                status=state.status if state else "pending",
                message=state.message if state else None,
                updated_at=state.updated_at if state else None,
            )
        )
    d = loaded.deployment
    return DeploymentRead(
        id=d.id,
        device_id=d.device_id,
        device=loaded.device.name,
        application_id=loaded.application.id,
        application=loaded.application.name,
        release_id=d.release_id,
        version=loaded.release.version,
        desired=d.desired,
        status=overall_status([c.status for c in containers], d.desired),
        created_at=d.created_at,
        updated_at=d.updated_at,
        containers=containers,
    )


async def read_one(session: AsyncSession, deployment: Deployment) -> DeploymentRead:
    (loaded,) = await load(session, [deployment])
    return to_read(loaded)


async def search(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    device_id: uuid.UUID | None = None,
    release_id: uuid.UUID | None = None,
    application_id: uuid.UUID | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[DeploymentRead]:
    """Newest first."""
    stmt = select(Deployment).where(Deployment.tenant_id == tenant_id)
    if device_id:
        stmt = stmt.where(Deployment.device_id == device_id)
    if release_id:
        stmt = stmt.where(Deployment.release_id == release_id)
    if application_id:
        stmt = stmt.join(Release, Release.id == Deployment.release_id).where(
            Release.application_id == application_id
        )
    stmt = DEPLOYMENT_ORDER.apply(stmt, cursor=cursor, limit=limit)
    page, next_cursor = DEPLOYMENT_ORDER.split((await session.scalars(stmt)).all(), limit=limit)
    return Page[DeploymentRead](
        items=[to_read(x) for x in await load(session, page)], next_cursor=next_cursor
    )


async def events(
    session: AsyncSession, *, deployment: Deployment, limit: int = 100, cursor: str | None = None
) -> Page[DeploymentEventRead]:
    """The timeline, newest first."""
    stmt = select(DeploymentEvent).where(DeploymentEvent.deployment_id == deployment.id)
    stmt = EVENT_ORDER.apply(stmt, cursor=cursor, limit=limit)
    rows, next_cursor = EVENT_ORDER.split((await session.scalars(stmt)).all(), limit=limit)
    names = dict(
        (
            await session.execute(
                select(ReleaseContainer.id, ReleaseContainer.name).where(
                    ReleaseContainer.id.in_({e.container_id for e in rows if e.container_id})
                )
            )
        ).all()
    )
    items = [
        DeploymentEventRead(
            id=e.seq,
            at=e.at,
            kind=e.kind,
            container_id=e.container_id,
            container=names.get(e.container_id) if e.container_id else None,
            message=e.message,
            count=e.count,
            last_at=e.last_at,
        )
        for e in rows
    ]
    return Page[DeploymentEventRead](items=items, next_cursor=next_cursor)
