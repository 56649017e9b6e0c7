"""Keeping the stored desired-state projection up to date, and reading it on the hot path.

`refresh` runs just before the commit of every unit of work that marked devices
(`notify.mark`), so the projection changes in the same transaction as what it projects. A poll
then reads one row, or nothing at all when the ETag it holds in memory still matches.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.db import utcnow
from edgedock.deployments.models import Deployment
from edgedock.device_api.models import DesiredStateProjection
from edgedock.devices.models import Device
from edgedock.read import desired_state

_CHUNK = 2000


async def refresh(session: AsyncSession, device_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Rebuild the projection of `device_ids`; returns the ETag of each device that exists."""
    states = await desired_state.build(session, device_ids)
    if not states:
        return {}
    current = await etags(session, list(states))
    now = utcnow()
    changed: list[dict[str, object]] = []
    result: dict[uuid.UUID, str] = {}
    for device_id, state in states.items():
        body, etag = desired_state.serialize(state)
        result[device_id] = etag
        if current.get(device_id) != etag:
            changed.append({"device_id": device_id, "etag": etag, "body": body, "updated_at": now})
    for start in range(0, len(changed), _CHUNK):
        await _upsert(session, changed[start : start + _CHUNK])
    return result


async def _upsert(session: AsyncSession, rows: list[dict[str, object]]) -> None:
    name = (await session.connection()).dialect.name
    dialect = postgresql if name == "postgresql" else sqlite
    stmt = dialect.insert(DesiredStateProjection).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[DesiredStateProjection.device_id],
        set_={
            "etag": stmt.excluded.etag,
            "body": stmt.excluded.body,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    await session.execute(stmt)


async def etags(session: AsyncSession, device_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    found: dict[uuid.UUID, str] = {}
    for start in range(0, len(device_ids), _CHUNK):
        chunk = device_ids[start : start + _CHUNK]
        stmt = select(DesiredStateProjection.device_id, DesiredStateProjection.etag).where(
            DesiredStateProjection.device_id.in_(chunk)
        )
        found.update({row[0]: row[1] for row in await session.execute(stmt)})
    return found


_READ = select(DesiredStateProjection.body, DesiredStateProjection.etag).where(
    DesiredStateProjection.device_id == bindparam("device_id")
)


async def read(session: AsyncSession, device_id: uuid.UUID) -> tuple[str, str]:
    """The body and ETag a poll answers with."""
    row = (await session.execute(_READ, {"device_id": device_id})).first()
    if row is None:
        return desired_state.serialize(desired_state.empty(device_id))
    return row.body, row.etag


def empty_etag(device_id: uuid.UUID) -> str:
    return desired_state.serialize(desired_state.empty(device_id))[1]


async def rebuild_missing(session: AsyncSession) -> int:
    """Project the devices that have none, e.g. after the upgrade that added the projection."""
    missing = list(
        await session.scalars(
            select(Device.id)
            .where(Device.id.in_(select(Deployment.device_id)))
            .where(~Device.id.in_(select(DesiredStateProjection.device_id)))
        )
    )
    await refresh(session, missing)
    return len(missing)
