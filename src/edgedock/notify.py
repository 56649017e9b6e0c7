"""Telling every replica when a device's desired state or identity changes.

Services mark what a transaction changes (`mark`, `mark_removed`). Just before the commit the
desired-state projection is refreshed and the changes, `device id → new ETag` (or `None` when
the device is gone or its token changed), are handed to the notifier inside the same
transaction: on PostgreSQL as `pg_notify`, which the database delivers to every replica's
listener exactly when the transaction commits, never before and never for a rollback. In one
process the server applies the changes itself after the commit.

A lost notification only costs latency: devices re-poll when their wait ends, and a listener
that reconnects tells the server to forget what it cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)
CHANNEL = "edgedock_devices"
_CHANGED = "edgedock.changed_devices"
_REMOVED = "edgedock.removed_devices"
# PostgreSQL refuses payloads of 8000 bytes or more; about a hundred changes fit in one.
_MAX_PAYLOAD = 7000

Changes = Mapping[uuid.UUID, str | None]
OnChanges = Callable[[Changes], None]
OnLost = Callable[[], None]


def mark(session: AsyncSession, device_id: uuid.UUID) -> None:
    """Record that this transaction changes what `device_id` should run."""
    session.info.setdefault(_CHANGED, set()).add(device_id)


def mark_removed(session: AsyncSession, device_id: uuid.UUID) -> None:
    """Record that this transaction deletes `device_id` or replaces its token."""
    session.info.setdefault(_REMOVED, set()).add(device_id)


def take_marked(session: AsyncSession) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """The devices marked changed, and those marked removed, since the last call."""
    return session.info.pop(_CHANGED, set()), session.info.pop(_REMOVED, set())


def encode(changes: Changes, *, sender: str) -> list[str]:
    """Payloads `sender|device=etag;device=-;…`, each under PostgreSQL's size limit."""
    payloads: list[str] = []
    parts: list[str] = []
    size = len(sender) + 1
    for device_id, etag in changes.items():
        part = f"{device_id}={etag or '-'}"
        if parts and size + len(part) + 1 > _MAX_PAYLOAD:
            payloads.append(sender + "|" + ";".join(parts))
            parts, size = [], len(sender) + 1
        parts.append(part)
        size += len(part) + 1
    if parts:
        payloads.append(sender + "|" + ";".join(parts))
    return payloads


def decode(payload: str) -> tuple[str, dict[uuid.UUID, str | None]]:
    """The sender and changes of one payload; raises ValueError when it is malformed."""
    sender, _, body = payload.partition("|")
    changes: dict[uuid.UUID, str | None] = {}
    for part in body.split(";"):
        device_id, _, etag = part.partition("=")
        changes[uuid.UUID(device_id)] = None if etag in ("", "-") else etag
    return sender, changes


class Notifier(Protocol):
    async def start(self, on_changes: OnChanges, on_lost: OnLost) -> None: ...
    async def stop(self) -> None: ...
    async def send(self, session: AsyncSession, changes: Changes) -> None:
        """Queue `changes` for the other replicas, inside the session's transaction."""


class LocalNotifier:
    """One process: the server applies its own changes after each commit, nothing to send."""

    async def start(self, on_changes: OnChanges, on_lost: OnLost) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, session: AsyncSession, changes: Changes) -> None:
        return None


class PostgresNotifier:
    """LISTEN/NOTIFY across replicas sharing one PostgreSQL database.

    Sending costs no connection of its own: the NOTIFY rides in the transaction of the change.
    The listening connection is checked every `CHECK_EVERY` seconds, so one that died without
    a word (a failover, a NAT that forgot it) is noticed; after any loss the listener
    reconnects with backoff and calls `on_lost`, since notifications may have been missed.
    """

    RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
    CHECK_EVERY = 10.0
    CHECK_TIMEOUT = 5.0

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self.sender = secrets.token_hex(6)
        self._listener: Any = None
        self._on_changes: OnChanges = lambda _changes: None
        self._on_lost: OnLost = lambda: None
        self._watchdog: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._stopped = False

    async def start(self, on_changes: OnChanges, on_lost: OnLost) -> None:
        self._on_changes, self._on_lost = on_changes, on_lost
        await self._listen()
        self._watchdog = asyncio.get_running_loop().create_task(self._watch())

    async def _listen(self) -> None:
        import asyncpg

        self._listener = await asyncpg.connect(self._dsn, timeout=self.CHECK_TIMEOUT)
        self._listener.add_termination_listener(self._on_terminated)
        await self._listener.add_listener(CHANNEL, self._on_notify)

    def _on_terminated(self, conn: Any) -> None:
        if conn is self._listener:  # not the one just replaced
            self._lost.set()

    async def _alive(self) -> bool:
        try:
            await asyncio.wait_for(self._listener.fetchval("SELECT 1"), self.CHECK_TIMEOUT)
        except Exception:  # a dead, hung or closed connection: all mean reconnect
            return False
        return True

    async def _watch(self) -> None:
        """Reconnect when the listener is closed under us or stops answering a check."""
        while not self._stopped:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self.CHECK_EVERY)
            if self._stopped or (not self._lost.is_set() and await self._alive()):
                continue
            log.warning("lost the %s listener connection; reconnecting", CHANNEL)
            dead, self._listener = self._listener, None
            dead.terminate()
            self._lost.clear()
            await self._reconnect()

    async def _reconnect(self) -> None:
        for attempt in itertools.count():
            if self._stopped:
                return
            try:
                await self._listen()
            except Exception:  # any failure to reconnect means: try again later
                delay = self.RECONNECT_DELAYS[min(attempt, len(self.RECONNECT_DELAYS) - 1)]
                await asyncio.sleep(delay)
                continue
            log.info("listening for %s again", CHANNEL)
            self._on_lost()
            return

    async def stop(self) -> None:
        self._stopped = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._listener.close(), self.CHECK_TIMEOUT)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            sender, changes = decode(payload)
        except ValueError:
            log.warning("ignored a malformed %s notification", CHANNEL)
            return
        if sender != self.sender:  # this replica applied its own changes after the commit
            self._on_changes(changes)

    async def send(self, session: AsyncSession, changes: Changes) -> None:
        payloads = encode(changes, sender=self.sender)
        if payloads:
            await session.execute(
                text("SELECT pg_notify(:channel, p) FROM unnest(CAST(:payloads AS text[])) AS p"),
                {"channel": CHANNEL, "payloads": payloads},
            )


def notifier_for(database_url: str) -> Notifier:
    if make_url(database_url).get_backend_name() in ("postgresql", "postgres"):
        return PostgresNotifier(database_url)
    return LocalNotifier()
