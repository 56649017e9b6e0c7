"""The Database wrapper on a real file or server, outside the per-test savepoint."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from edgedock.db import Database


async def test_concurrent_read_modify_write_transactions_all_commit(database_url):
    """Many requests writing at once: none fails with 'database is locked', none is lost."""
    database = Database.connect(database_url)
    table = f"counter_{abs(hash(database_url)) % 10_000}"
    try:
        async with database.transaction() as session:
            await session.execute(text(f"CREATE TABLE {table} (n INTEGER NOT NULL)"))
            await session.execute(text(f"INSERT INTO {table} VALUES (0)"))

        async def increment() -> None:
            async with database.transaction() as session:
                n = await session.scalar(
                    text(
                        f"SELECT n FROM {table} FOR UPDATE"
                        if database.engine.dialect.name == "postgresql"
                        else f"SELECT n FROM {table}"
                    )
                )
                await asyncio.sleep(0.005)  # other requests run meanwhile
                await session.execute(text(f"UPDATE {table} SET n = :n"), {"n": n + 1})

        await asyncio.gather(*(increment() for _ in range(40)))
        async with database.transaction() as session:
            assert await session.scalar(text(f"SELECT n FROM {table}")) == 40
    finally:
        async with database.transaction() as session:
            await session.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await database.dispose()


def test_only_sqlite_databases_queue_their_transactions(tmp_path):
    assert Database.connect(f"sqlite:///{tmp_path / 'x.db'}").queue_transactions is True
    assert Database.connect("postgresql://postgres@127.0.0.1:5432/test").queue_transactions is False


async def test_snapshot_reads_while_a_writer_holds_the_database(tmp_path):
    """Long-polling devices read their state even while a deployment is being written."""
    from edgedock.migrations import upgrade

    url = f"sqlite:///{tmp_path / 'snap.db'}"
    upgrade(url)
    database = Database.connect(url)
    try:
        async with database.transaction() as writer:
            await writer.execute(
                text(
                    "INSERT INTO tenant (id, slug, fingerprint_key_id, "
                    "fingerprint_key, created_at) VALUES "
                    "('00000000000000000000000000000001', 'w', 'k1', x'00', "
                    "'2026-01-01 00:00:00')"
                )
            )

            async def read() -> int | None:
                async with database.snapshot() as reader:
                    return await reader.scalar(text("SELECT count(*) FROM tenant"))

            # Would wait for the writer (and never get its turn) if reads queued like writes.
            assert await asyncio.wait_for(read(), timeout=30) == 0
        async with database.snapshot() as reader:
            assert await reader.scalar(text("SELECT count(*) FROM tenant")) == 1
    finally:
        await database.dispose()


async def test_many_units_of_work_wait_their_turn_instead_of_timing_out(database_url):
    """A thousand woken devices must queue for connections, not fail on the pool's timeout."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from edgedock.db import make_engine

    engine = make_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    database = Database(
        engine, async_sessionmaker(engine, expire_on_commit=False), max_concurrent=1
    )

    async def read() -> int | None:
        async with database.snapshot() as session:
            await asyncio.sleep(0.02)  # longer, in total, than the pool would wait
            return await session.scalar(text("SELECT 1"))

    try:
        assert await asyncio.gather(*(read() for _ in range(30))) == [1] * 30
    finally:
        await engine.dispose()
