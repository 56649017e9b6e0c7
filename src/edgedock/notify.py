"""Waking long-polling devices when their desired state changes.

Services mark the devices a transaction touched (`mark`); once the request's transaction has
committed, the server publishes them. In one process an asyncio.Event per waiter is enough;
with several replicas on PostgreSQL, `pg_notify` carries the device id to every replica's
listener, which then wakes its own waiters. A lost notification only costs latency: devices
re-poll when their wait ends, so correctness never depends on delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)
CHANNEL = "edgedock_desired_state"
_SESSION_KEY = "edgedock.changed_devices"


def mark(session: AsyncSession, device_id: uuid.UUID) -> None:
    """Record that this transaction changes what `device_id` should run."""
    session.info.setdefault(_SESSION_KEY, set()).add(device_id)


def take_marked(session: AsyncSession) -> set[uuid.UUID]:
    marked: set[uuid.UUID] = session.info.pop(_SESSION_KEY, set())
    return marked


class Notifier(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, device_ids: Iterable[uuid.UUID]) -> None: ...
    def subscribe(
        self, device_id: uuid.UUID
    ) -> contextlib.AbstractContextManager[asyncio.Event]: ...


class LocalNotifier:
    """Wakes waiters of this process only: the embedded, single-process case."""

    def __init__(self) -> None:
        self._waiters: defaultdict[uuid.UUID, set[asyncio.Event]] = defaultdict(set)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, device_ids: Iterable[uuid.UUID]) -> None:
        self.wake(device_ids)

    def wake(self, device_ids: Iterable[uuid.UUID]) -> None:
        for device_id in device_ids:
            for event in self._waiters.get(device_id, ()):
                event.set()

    @contextlib.contextmanager
    def subscribe(self, device_id: uuid.UUID) -> Any:
        """Subscribe before reading the state, so a change in between is not missed."""
        event = asyncio.Event()
        self._waiters[device_id].add(event)
        try:
            yield event
        finally:
            waiters = self._waiters.get(device_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[device_id]


class PostgresNotifier(LocalNotifier):
    """LISTEN/NOTIFY across replicas sharing one PostgreSQL database.

    When the listening connection drops (a database restart, a failover), it reconnects with
    backoff and then wakes every local waiter, since notifications may have been missed.
    """

    RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)

    def __init__(self, database_url: str) -> None:
        super().__init__()
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._listener: Any = None
        self._publisher: Any = None
        self._lock = asyncio.Lock()
        self._reconnecting: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self) -> None:
        await self._listen()
        self._publisher = await self._connect()

    async def _connect(self) -> Any:
        import asyncpg

        return await asyncpg.connect(self._dsn)

    async def _listen(self) -> None:
        self._listener = await self._connect()
        self._listener.add_termination_listener(self._on_lost)
        await self._listener.add_listener(CHANNEL, self._on_notify)

    def _on_lost(self, _conn: Any) -> None:
        if not self._stopped and (self._reconnecting is None or self._reconnecting.done()):
            log.warning("lost the %s listener connection; reconnecting", CHANNEL)
            self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

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
            self.wake(list(self._waiters))
            return

    async def stop(self) -> None:
        self._stopped = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        for conn in (self._listener, self._publisher):
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self.wake([uuid.UUID(payload)])
        except ValueError:
            log.warning("ignored a malformed %s notification", CHANNEL)

    async def publish(self, device_ids: Iterable[uuid.UUID]) -> None:
        ids = [str(d) for d in device_ids]
        if not ids:
            return
        args = [(CHANNEL, i) for i in ids]
        async with self._lock:
            try:
                await self._publisher.executemany("SELECT pg_notify($1, $2)", args)
                return
            except Exception:
                log.warning("publishing desired-state changes failed; reconnecting once")
            try:
                with contextlib.suppress(Exception):
                    await self._publisher.close()
                self._publisher = await self._connect()
                await self._publisher.executemany("SELECT pg_notify($1, $2)", args)
            except Exception:
                # Devices re-poll when their wait ends; wake this replica's waiters at least.
                log.exception("could not publish desired-state changes; devices will re-poll")
                self.wake(uuid.UUID(i) for i in ids)


def notifier_for(database_url: str) -> Notifier:
    if make_url(database_url).get_backend_name() in ("postgresql", "postgres"):
        return PostgresNotifier(database_url)
    return LocalNotifier()
