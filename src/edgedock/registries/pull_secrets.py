"""Pull secrets: what a device gets instead of a registry password, good for one pull.

A pull secret is a random 256-bit value, fresh for every registry auth, stored only as its
SHA-256 hash, bound to the device and the deployment it was issued for, and valid for a few
minutes (`EDGEDOCK_PULL_SECRET_TTL_SECONDS`). It can be used again within that time, because
an engine repeats its token requests during one pull (one per layer fetch on some engines).

Registry auth is asked for before every pull a fleet makes, so the rows are written in groups
(as audit events are, audit/writer.py): the requests waiting together share one INSERT and one
commit, and each answer still waits for its own row to be durable. Each group also deletes the
rows that expired a while ago; the index on `expires_at` keeps that cheap.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, insert

from edgedock.crypto import new_token, token_hash
from edgedock.db import Database, new_id, utcnow
from edgedock.registries.models import RegistryPullSecret

PREFIX = "edps"
_TABLE = cast(Table, RegistryPullSecret.__table__)
_MAX_GROUP = 500
# Expired rows are kept this long after expiry, only so that a refusal can be told apart in
# a debugger; nothing reads them.
_KEEP_EXPIRED = timedelta(minutes=10)


def is_pull_secret(secret: str) -> bool:
    return secret.startswith(PREFIX + "_")


def device_username(name: str) -> str:
    """The login name that names the device; Basic auth cannot carry a colon in it."""
    return name.replace(":", "_")


def new_row(
    *,
    tenant_id: uuid.UUID,
    registry_id: uuid.UUID,
    device_id: uuid.UUID,
    deployment_id: uuid.UUID,
    repository: str,
    ttl: int,
    now: datetime | None = None,
) -> tuple[str, dict[str, Any]]:
    """A new secret and the row that stands for it (the secret itself is never stored)."""
    secret = new_token(PREFIX)
    now = now or utcnow()
    return secret, {
        "id": new_id(),
        "tenant_id": tenant_id,
        "registry_id": registry_id,
        "device_id": device_id,
        "deployment_id": deployment_id,
        "secret_hash": token_hash(secret),
        "repository": repository[:600],
        "created_at": now,
        "expires_at": now + timedelta(seconds=ttl),
    }


class PullSecretWriter:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def store(self, row: dict[str, Any]) -> None:
        """Returns once the row is committed; raises what the commit raised."""
        done = asyncio.get_running_loop().create_future()
        self._pending.append((row, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        while self._pending:
            group, self._pending = self._pending[:_MAX_GROUP], self._pending[_MAX_GROUP:]
            try:
                async with self.database.transaction() as session:
                    connection = await session.connection()
                    await connection.execute(insert(_TABLE), [row for row, _ in group])
                    await connection.execute(
                        delete(_TABLE).where(_TABLE.c.expires_at < utcnow() - _KEEP_EXPIRED)
                    )
            except Exception as exc:  # every waiter of the group learns it failed
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in group:
                    if not done.done():
                        done.set_result(None)
