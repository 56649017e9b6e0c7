"""Building devices' desired states from scratch, in bulk: what the stored projection holds.

A thousand devices cost the same handful of queries as one (rows are fetched by chunks of ids),
and a release shared by many devices is turned into its wire containers once.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterator

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import wire
from edgedock.applications.models import Application
from edgedock.deployments.models import Deployment
from edgedock.devices.models import Device
from edgedock.read import brokered
from edgedock.releases.models import Release, ReleaseContainer

# Both backends accept well over this many bound parameters in one statement.
_CHUNK = 5000


def needs_credentials(container: ReleaseContainer, *, brokered: bool = False) -> bool:
    """Stored credentials (or their tombstone), or a brokered registry's pull secret."""
    return (
        container.image_credentials_id is not None
        or container.credentials_deleted_at is not None
        or brokered
    )


def wire_container(container: ReleaseContainer, *, brokered: bool = False) -> wire.ContainerSpec:
    """A stored container as a device receives it: the stored settings, the pull reference.

    The one place a wire container is built from a stored one.
    """
    return wire.ContainerSpec(
        id=str(container.id),
        name=container.name,
        image=container.image_canonical,
        needs_credentials=needs_credentials(container, brokered=brokered),
        **container.settings,
    )


def etag_of(body: str) -> str:
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def serialize(state: wire.DesiredState) -> tuple[str, str]:
    """The body a device receives and its ETag."""
    body = state.model_dump_json()
    return body, etag_of(body)


def empty(device_id: uuid.UUID) -> wire.DesiredState:
    return wire.DesiredState(device_id=str(device_id), deployments=[])


def _chunks(ids: list[uuid.UUID]) -> Iterator[list[uuid.UUID]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


async def build(
    session: AsyncSession, device_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, wire.DesiredState]:
    """The desired state of each of `device_ids` that still exists (deleted ones are left out)."""
    ids = list(dict.fromkeys(device_ids))
    existing: set[uuid.UUID] = set()
    rows: list[Row[uuid.UUID, uuid.UUID, uuid.UUID, str]] = []
    for chunk in _chunks(ids):
        existing.update(await session.scalars(select(Device.id).where(Device.id.in_(chunk))))
        rows.extend(
            (
                await session.execute(
                    select(
                        Deployment.id,
                        Deployment.device_id,
                        Deployment.release_id,
                        Deployment.desired,
                    )
                    .where(Deployment.device_id.in_(chunk))
                    .order_by(Deployment.created_at, Deployment.id)
                )
            ).all()
        )
    release_ids = {row.release_id for row in rows}
    releases: dict[uuid.UUID, tuple[str, str]] = {}
    tenants: dict[uuid.UUID, uuid.UUID] = {}
    for release_id, version, application, tenant_id in (
        await session.execute(
            select(Release.id, Release.version, Application.name, Release.tenant_id)
            .join(Application, Application.id == Release.application_id)
            .where(Release.id.in_(release_ids))
        )
    ).all():
        releases[release_id] = (version, application)
        tenants[release_id] = tenant_id
    hosts = await brokered.hosts(session, set(tenants.values()))
    containers: defaultdict[uuid.UUID, list[wire.ContainerSpec]] = defaultdict(list)
    for container in await session.scalars(
        select(ReleaseContainer)
        .where(ReleaseContainer.release_id.in_(release_ids))
        .order_by(ReleaseContainer.release_id, ReleaseContainer.position)
    ):
        via = brokered.registry_for(
            hosts,
            tenant_id=tenants[container.release_id],
            image_domain=container.image_domain,
            image_credentials_id=container.image_credentials_id,
        )
        containers[container.release_id].append(wire_container(container, brokered=via is not None))
    specs: defaultdict[uuid.UUID, list[wire.DeploymentSpec]] = defaultdict(list)
    for row in rows:
        version, application = releases[row.release_id]
        specs[row.device_id].append(
            wire.DeploymentSpec(
                id=str(row.id),
                release_id=str(row.release_id),
                application=application,
                version=version,
                desired=row.desired,
                containers=containers[row.release_id],
            )
        )
    return {
        device_id: wire.DesiredState(device_id=str(device_id), deployments=specs[device_id])
        for device_id in ids
        if device_id in existing
    }
