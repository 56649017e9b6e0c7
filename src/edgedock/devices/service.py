"""Registering devices, authenticating their agents, and recording when they were seen."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import notify
from edgedock.actors import Actor
from edgedock.audit import service as audit_service
from edgedock.crypto import new_token, token_hash
from edgedock.db import find_owned, insert_unique, lock_owned, utcnow
from edgedock.deployments.models import Deployment
from edgedock.devices.models import Device
from edgedock.devices.schemas import DeviceCreate, DeviceRead
from edgedock.errors import Conflict, NotFound
from edgedock.pagination import Keyset, Page, SortKey, matching, named
from edgedock.text import fold

DEVICE_TOKEN_PREFIX = "edd"  # noqa: S105 - a public prefix, not a secret
# A device long-polls for up to a minute; three missed polls and it is shown offline.
ONLINE_WINDOW = timedelta(minutes=3)

ORDER = Keyset("devices", (SortKey(Device.name_key, "str"), SortKey(Device.id, "uuid")))


class DeviceNotFound(NotFound):
    code = "device_not_found"


class DuplicateDeviceName(Conflict):
    code = "duplicate_device_name"


def to_read(
    device: Device, *, deployment_count: int = 0, now: datetime | None = None
) -> DeviceRead:
    now = now or utcnow()
    return DeviceRead(
        id=device.id,
        name=device.name,
        created_at=device.created_at,
        last_seen_at=device.last_seen_at,
        online=_online(device.last_seen_at, now),
        engine=device.engine,
        deployment_count=deployment_count,
    )


def _online(last_seen_at: datetime | None, now: datetime) -> bool:
    """Seen within the window. A time in the future (the server's clock stepped back since
    it was written) says nothing about the device now, so it does not count as online."""
    if last_seen_at is None:
        return False
    return timedelta(0) <= now - last_seen_at < ONLINE_WINDOW


async def create(session: AsyncSession, *, actor: Actor, data: DeviceCreate) -> tuple[Device, str]:
    """Returns the device and its token; only a hash of the token is kept."""
    name_key = fold(data.name)
    taken = await session.scalar(
        select(Device.id).where(Device.tenant_id == actor.tenant_id, Device.name_key == name_key)
    )
    if taken is not None:
        raise DuplicateDeviceName(f"a device named {data.name!r} already exists", field="name")
    token = new_token(DEVICE_TOKEN_PREFIX)
    device = Device(
        tenant_id=actor.tenant_id, name=data.name, name_key=name_key, token_hash=token_hash(token)
    )
    await insert_unique(
        session,
        device,
        duplicate=DuplicateDeviceName(f"a device named {data.name!r} already exists", field="name"),
    )
    await audit_service.record(
        session,
        actor=actor,
        action="devices.created",
        resource_type="device",
        resource_id=device.id,
        device_id=device.id,
        summary=f"registered device {device.name!r}",
    )
    return device, token


async def find(
    session: AsyncSession, *, tenant_id: uuid.UUID, device_id: uuid.UUID
) -> Device | None:
    return await find_owned(session, Device, tenant_id=tenant_id, row_id=device_id)


async def get(session: AsyncSession, *, tenant_id: uuid.UUID, device_id: uuid.UUID) -> Device:
    device = await find(session, tenant_id=tenant_id, device_id=device_id)
    if device is None:
        raise DeviceNotFound(f"device {device_id} does not exist")
    return device


async def deployment_counts(
    session: AsyncSession, *, device_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not device_ids:
        return {}
    stmt = (
        select(Deployment.device_id, func.count())
        .where(Deployment.device_id.in_(device_ids))
        .group_by(Deployment.device_id)
    )
    return dict((await session.execute(stmt)).all())


async def search(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    q: str | None = None,
    name: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[DeviceRead]:
    """Ordered by name; `q` matches part of the name, `name` all of it (case-insensitively)."""
    stmt = select(Device).where(Device.tenant_id == tenant_id)
    stmt = matching(stmt, q, Device.name_key)
    stmt = named(stmt, name, Device.name_key, field="name")
    stmt = ORDER.apply(stmt, cursor=cursor, limit=limit)
    page, next_cursor = ORDER.split((await session.scalars(stmt)).all(), limit=limit)
    counts = await deployment_counts(session, device_ids=[d.id for d in page])
    return Page[DeviceRead](
        items=[to_read(d, deployment_count=counts.get(d.id, 0)) for d in page],
        next_cursor=next_cursor,
    )


async def delete(session: AsyncSession, *, actor: Actor, device_id: uuid.UUID) -> None:
    """Forget a device and its deployments; its agent's token stops working at once.

    The lock makes a concurrent deploy to this device wait (or this delete wait for it): the
    deploy then finds no device (404), or this delete removes the deployment it made.
    """
    device = await lock_owned(session, Device, tenant_id=actor.tenant_id, row_id=device_id)
    if device is None:
        raise DeviceNotFound(f"device {device_id} does not exist")
    await session.execute(sql_delete(Deployment).where(Deployment.device_id == device.id))
    await session.delete(device)
    await session.flush()
    # Every replica forgets its cached identity at commit, and wakes its parked poll with 401.
    notify.mark_removed(session, device.id)
    await audit_service.record(
        session,
        actor=actor,
        action="devices.deleted",
        resource_type="device",
        resource_id=device.id,
        device_id=device.id,
        summary=f"deleted device {device.name!r}",
    )


async def reissue_token(
    session: AsyncSession, *, actor: Actor, device_id: uuid.UUID
) -> tuple[Device, str]:
    """Give the device a new token; the old one stops working when this commits.

    Marked as removed for the device API: every replica drops the identity it cached under the
    old token's hash (and wakes the polls parked with it, which then answer 401), so nothing
    keeps accepting the old token from memory.
    """
    device = await lock_owned(session, Device, tenant_id=actor.tenant_id, row_id=device_id)
    if device is None:
        raise DeviceNotFound(f"device {device_id} does not exist")
    token = new_token(DEVICE_TOKEN_PREFIX)
    device.token_hash = token_hash(token)
    await session.flush()
    notify.mark_removed(session, device.id)
    await audit_service.record(
        session,
        actor=actor,
        action="devices.token_reissued",
        resource_type="device",
        resource_id=device.id,
        device_id=device.id,
        summary=f"re-issued the token of device {device.name!r}; the old token no longer works",
    )
    return device, token


async def record_engine(
    session: AsyncSession, *, device_id: uuid.UUID, engine: dict[str, Any]
) -> None:
    """What the agent reports about its engine; a report also counts as being seen."""
    await session.execute(
        update(Device).where(Device.id == device_id).values(engine=engine, last_seen_at=utcnow())
    )
