"""A unit of work that cannot get a database slot in time answers 503 instead of waiting on."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from edgedock.db import Database, make_engine
from edgedock.outages import DatabaseUnavailable


async def test_unit_of_work_gives_up_when_every_slot_stays_busy(database_url: str) -> None:
    engine = make_engine(database_url)
    database = Database(
        engine,
        async_sessionmaker(engine, expire_on_commit=False),
        max_concurrent=1,
        turn_timeout=0.2,
    )
    release = asyncio.Event()

    async def hold_the_slot() -> None:
        async with database.snapshot() as session:
            await session.scalar(text("SELECT 1"))
            await release.wait()  # a statement that never returns, as in an outage

    holder = asyncio.ensure_future(hold_the_slot())
    try:
        await asyncio.sleep(0)  # let the holder take the slot
        with pytest.raises(DatabaseUnavailable) as caught:
            async with database.transaction() as session:
                await session.scalar(text("SELECT 1"))
        assert "no free database slot" in caught.value.reason
        release.set()
        await holder
        async with database.transaction() as session:  # the slot was handed back
            assert await session.scalar(text("SELECT 1")) == 1
    finally:
        release.set()
        await holder
        await engine.dispose()
