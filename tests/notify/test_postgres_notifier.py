"""LISTEN/NOTIFY between replicas: changes ride in the transaction, and a lost listener recovers."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid

import asyncpg
import pytest

from edgedock import notify
from edgedock.db import Database
from edgedock.notify import PostgresNotifier
from tests.conftest import BACKENDS, PG_ADMIN_URL

pytestmark = pytest.mark.skipif(
    "postgresql" not in BACKENDS, reason="EDGEDOCK_TEST_BACKENDS excludes postgresql"
)


class Received:
    def __init__(self) -> None:
        self.changes: list[dict[uuid.UUID, str | None]] = []
        self.lost = 0
        self.arrived = asyncio.Event()

    def on_changes(self, changes: notify.Changes) -> None:
        self.changes.append(dict(changes))
        self.arrived.set()

    def on_lost(self) -> None:
        self.lost += 1
        self.arrived.set()

    async def next(self, timeout: float = 10) -> bool:
        try:
            await asyncio.wait_for(self.arrived.wait(), timeout)
        except TimeoutError:
            return False
        self.arrived.clear()
        return True


async def _send(database: Database, notifier: PostgresNotifier, changes: notify.Changes) -> None:
    async with database.transaction() as session:
        await notifier.send(session, changes)


@pytest.fixture
async def database():
    database = Database.connect(PG_ADMIN_URL)
    yield database
    await database.dispose()


async def test_changes_reach_another_replica_when_the_transaction_commits(database):
    a, b, got = PostgresNotifier(PG_ADMIN_URL), PostgresNotifier(PG_ADMIN_URL), Received()
    await a.start(got.on_changes, got.on_lost)
    device, gone = uuid.uuid4(), uuid.uuid4()
    try:
        async with database.transaction() as session:
            await b.send(session, {device: '"e1"', gone: None})
            assert not await got.next(timeout=0.5), "delivered before the commit"
        assert await got.next()
        assert got.changes == [{device: '"e1"', gone: None}]
    finally:
        await a.stop()


async def test_a_rolled_back_change_is_never_delivered(database):
    a, b, got = PostgresNotifier(PG_ADMIN_URL), PostgresNotifier(PG_ADMIN_URL), Received()
    await a.start(got.on_changes, got.on_lost)
    try:
        with pytest.raises(RuntimeError):
            async with database.transaction() as session:
                await b.send(session, {uuid.uuid4(): '"e1"'})
                raise RuntimeError("the change fails")
        await _send(database, b, {(later := uuid.uuid4()): '"e2"'})
        assert await got.next()
        assert got.changes == [{later: '"e2"'}]
    finally:
        await a.stop()


async def test_a_replica_ignores_the_echo_of_its_own_changes(database):
    a, got = PostgresNotifier(PG_ADMIN_URL), Received()
    other = PostgresNotifier(PG_ADMIN_URL)
    await a.start(got.on_changes, got.on_lost)
    try:
        await _send(database, a, {uuid.uuid4(): '"mine"'})
        await _send(database, other, {(theirs := uuid.uuid4()): '"theirs"'})
        assert await got.next()
        assert got.changes == [{theirs: '"theirs"'}]
    finally:
        await a.stop()


async def test_listener_reconnects_after_its_connection_is_killed(database):
    a, b, got = PostgresNotifier(PG_ADMIN_URL), PostgresNotifier(PG_ADMIN_URL), Received()
    a.RECONNECT_DELAYS = (0.1,)
    await a.start(got.on_changes, got.on_lost)
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        pid = a._listener.get_server_pid()
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        # Reconnecting reports the loss: changes may have been missed meanwhile.
        assert await got.next() and got.lost == 1
        assert a._listener.get_server_pid() != pid
        await _send(database, b, {(device := uuid.uuid4()): '"after"'})
        assert await got.next()
        assert got.changes == [{device: '"after"'}]
    finally:
        await admin.close()
        await a.stop()


async def test_a_listener_that_stops_answering_is_replaced(database):
    a, b, got = PostgresNotifier(PG_ADMIN_URL), PostgresNotifier(PG_ADMIN_URL), Received()
    a.CHECK_EVERY, a.CHECK_TIMEOUT = 0.2, 0.5
    await a.start(got.on_changes, got.on_lost)
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        pid = a._listener.get_server_pid()
        # The backend is stopped dead (SIGSTOP): the socket stays open, nothing answers, as
        # with a failover behind a NAT. Only the periodic check can tell.
        os.kill(pid, signal.SIGSTOP)
        try:
            assert await got.next(timeout=15) and got.lost == 1
        finally:
            os.kill(pid, signal.SIGCONT)
        await _send(database, b, {(device := uuid.uuid4()): '"again"'})
        assert await got.next()
        assert got.changes == [{device: '"again"'}]
    finally:
        await admin.close()
        await a.stop()


def test_payloads_stay_under_the_size_limit_and_round_trip():
    changes = {uuid.uuid4(): f'"{i:032x}"' for i in range(10_000)}
    changes[uuid.uuid4()] = None
    payloads = notify.encode(changes, sender="r1")
    assert all(len(p.encode()) < 8000 for p in payloads)
    decoded: dict[uuid.UUID, str | None] = {}
    for payload in payloads:
        sender, part = notify.decode(payload)
        assert sender == "r1"
        decoded.update(part)
    assert decoded == changes
