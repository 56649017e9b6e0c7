"""Keeping the stored desired-state projection up to date, and reading it on the hot path.

`refresh` runs just before the commit of every unit of work that marked devices
(`notify.mark`), so the projection changes in the same transaction as what it projects. A poll
then reads one row, or nothing at all when the ETag it holds in memory still matches.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Collection

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.db import Database, utcnow
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


class BodyReader:
    """Reads the bodies that woken polls need, many per query.

    A deployment to a fleet wakes thousands of parked polls in one turn of the event loop; each
    one reading its own row would queue thousands of units of work for the database's slots.
    Here the polls woken together hand in their device ids, and one snapshot reads up to
    `batch` rows at a time with one `IN` query.
    """

    def __init__(self, database: Database, *, batch: int = 1000) -> None:
        self.database, self.batch = database, batch
        self._pending: dict[uuid.UUID, list[asyncio.Future[tuple[str, str]]]] = {}
        self._reading: asyncio.Task[None] | None = None

    async def read(self, device_id: uuid.UUID) -> tuple[str, str]:
        """The body and ETag a poll answers with."""
        done: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(device_id, []).append(done)
        if self._reading is None or self._reading.done():
            self._reading = asyncio.create_task(self._read_pending())
        return await done

    async def _read_pending(self) -> None:
        await asyncio.sleep(0)  # the other polls woken in this turn hand in their ids first
        while self._pending:
            ids = list(itertools.islice(self._pending, self.batch))
            waiters = {device_id: self._pending.pop(device_id) for device_id in ids}
            try:
                async with self.database.snapshot() as session:
                    rows = await session.execute(_READ_MANY, {"device_ids": ids})
                    found = {row.device_id: (row.body, row.etag) for row in rows}
            except Exception as exc:  # each waiting poll fails the way a read of its own would
                for futures in waiters.values():
                    for done in futures:
                        if not done.done():
                            done.set_exception(exc)
                continue
            for device_id, futures in waiters.items():
                answer = found.get(device_id) or desired_state.serialize(
                    desired_state.empty(device_id)
                )
                for done in futures:
                    if not done.done():
                        done.set_result(answer)


_READ_MANY = select(
    DesiredStateProjection.device_id, DesiredStateProjection.body, DesiredStateProjection.etag
).where(DesiredStateProjection.device_id.in_(bindparam("device_ids", expanding=True)))
