"""LISTEN/NOTIFY between replicas, including a listener connection that drops."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from edgedock.notify import PostgresNotifier
from tests.conftest import BACKENDS, PG_ADMIN_URL

pytestmark = pytest.mark.skipif(
    "postgresql" not in BACKENDS, reason="EDGEDOCK_TEST_BACKENDS excludes postgresql"
)


async def _woken(
    notifier: PostgresNotifier, device_id: uuid.UUID, publisher: PostgresNotifier
) -> bool:
    with notifier.subscribe(device_id) as event:
        await publisher.publish([device_id])
        try:
            await asyncio.wait_for(event.wait(), timeout=10)
        except TimeoutError:
            return False
        return True


async def test_publish_on_one_replica_wakes_waiter_on_another():
    a, b = PostgresNotifier(PG_ADMIN_URL), PostgresNotifier(PG_ADMIN_URL)
    await a.start()
    await b.start()
    try:
        assert await _woken(a, uuid.uuid4(), publisher=b)
    finally:
        await a.stop()
        await b.stop()


async def test_listener_reconnects_after_its_connection_is_killed():
    a, b = PostgresNotifier(PG_ADMIN_URL), PostgresNotifier(PG_ADMIN_URL)
    a.RECONNECT_DELAYS = (0.1,)
    await a.start()
    await b.start()
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        device_id = uuid.uuid4()
        with a.subscribe(device_id) as event:
            pid = a._listener.get_server_pid()
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
            # Reconnecting wakes every waiter once: changes may have been missed meanwhile.
            await asyncio.wait_for(event.wait(), timeout=10)
        for _ in range(100):
            if a._listener.get_server_pid() != pid and not a._listener.is_closed():
                break
            await asyncio.sleep(0.05)
        assert await _woken(a, uuid.uuid4(), publisher=b)
        await admin.execute("SELECT pg_terminate_backend($1)", b._publisher.get_server_pid())
        assert await _woken(a, uuid.uuid4(), publisher=b), "the publisher reconnects too"
    finally:
        await admin.close()
        await a.stop()
        await b.stop()
