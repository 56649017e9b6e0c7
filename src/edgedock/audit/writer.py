"""Audit events written in groups: many requests, one transaction, each answered after it.

Registry auth must be audited before its answer leaves (it is the password's only way out), and
a commit is a disk flush. One transaction per request would cap a fleet's pulls at the disk's
flush rate; here a request hands its event over and waits, and whatever arrived while the
previous group was being committed goes out in the next group, in one INSERT and one commit.
A request's answer still waits for its own event to be durable: nothing is audited "later".
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from sqlalchemy import Table, insert

from edgedock.audit.models import AuditEvent
from edgedock.db import Database

_TABLE = cast(Table, AuditEvent.__table__)
# A bound on one statement's size (parameters per row times rows stays far below both
# backends' limits).
_MAX_GROUP = 500


class AuditWriter:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def record(self, values: dict[str, Any]) -> None:
        """Returns once the event is committed; raises what the commit raised."""
        done = asyncio.get_running_loop().create_future()
        self._pending.append((values, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        while self._pending:
            group, self._pending = self._pending[:_MAX_GROUP], self._pending[_MAX_GROUP:]
            try:
                async with self.database.transaction() as session:
                    connection = await session.connection()
                    await connection.execute(insert(_TABLE), [values for values, _ in group])
            except Exception as exc:  # every waiter of the group learns it failed
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in group:
                    if not done.done():
                        done.set_result(None)
