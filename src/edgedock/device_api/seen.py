"""Writing devices' `last_seen_at` in batches, off the request path.

A fleet polls all the time; writing on every poll would turn every idle poll into a write
transaction (and on SQLite into a turn in the writers' queue). Polls only note the time in
memory (`Fleet.saw`); this writes what piled up every few seconds in one statement. It is best
effort: when the write fails (a full disk, a database away) the times wait for the next try
and polls carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, update

from edgedock.db import Database
from edgedock.device_api.fleet import Fleet
from edgedock.devices.models import Device

log = logging.getLogger(__name__)

_table = cast(Table, Device.__table__)
_WRITE = (
    update(_table)
    .where(_table.c.id == bindparam("device_id"))
    .values(last_seen_at=bindparam("seen_at"))
)


async def write(database: Database, seen: dict[uuid.UUID, datetime]) -> None:
    if not seen:
        return
    rows = [{"device_id": d, "seen_at": at} for d, at in seen.items()]
    async with database.transaction() as session:
        # executemany through Core: one round trip per batch, no ORM rows for thousands.
        connection = await session.connection()
        await connection.execute(_WRITE, rows)


async def write_best_effort(database: Database, seen: dict[uuid.UUID, datetime]) -> bool:
    try:
        await write(database, seen)
    except Exception as exc:  # a poll must not fail because its seen time could not be kept
        log.warning("could not record when a device was last seen: %s", exc)
        return False
    return True


class SeenWriter:
    """Flushes `fleet`'s seen times every `interval` seconds while the server runs, and writes
    a device coming (back) online at once, grouped with the others arriving meanwhile."""

    def __init__(self, database: Database, fleet: Fleet, *, interval: float = 5.0) -> None:
        self.database, self.fleet, self.interval = database, fleet, interval
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self._urgent: dict[uuid.UUID, datetime] = {}
        self._urgent_done: asyncio.Future[None] | None = None
        self._urgent_task: asyncio.Task[None] | None = None

    async def write_now(self, device_id: uuid.UUID, at: datetime) -> None:
        """Returns once written (or once the write failed: it is best effort, never raised).

        A fleet reconnecting after a server restart brings thousands of these at once; they
        share one transaction per round instead of queueing one each for the database.
        """
        self._urgent[device_id] = at
        if self._urgent_done is None:
            self._urgent_done = asyncio.get_running_loop().create_future()
            self._urgent_task = asyncio.create_task(self._write_urgent(self._urgent_done))
        await asyncio.shield(self._urgent_done)

    async def _write_urgent(self, done: asyncio.Future[None]) -> None:
        await asyncio.sleep(0)  # the others arriving in this turn join the group
        seen, self._urgent, self._urgent_done = self._urgent, {}, None
        await write_best_effort(self.database, seen)
        done.set_result(None)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()

    async def flush(self) -> None:
        seen = self.fleet.take_seen()
        try:
            await write(self.database, seen)
        except Exception as exc:  # best effort: any failure waits for the next round
            self.fleet.put_back_seen(seen)
            if not self._failing:
                log.warning("could not record when devices were last seen: %s", exc)
            self._failing = True
        else:
            if self._failing:
                log.info("recording when devices were last seen again")
            self._failing = False

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
