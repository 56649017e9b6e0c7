"""A device is online only when seen in the last few minutes, by a clock that did not step back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from edgedock.devices.models import Device
from tests.deployments import fleet


async def _set_last_seen(database, device_id: str, at: datetime) -> None:
    async with database.transaction() as session:
        await session.execute(
            update(Device).where(Device.id == uuid.UUID(device_id)).values(last_seen_at=at)
        )


async def test_device_seen_in_the_future_is_not_online_until_it_polls(api, app, database):
    device = await fleet.device(api)
    # The server's clock stepped back an hour after this was written.
    await _set_last_seen(database, device["id"], datetime.now(UTC) + timedelta(hours=1))

    shown = (await api.get(f"/api/v1/devices/{device['id']}")).json()
    assert shown["online"] is False

    async with fleet.device_client(app, device["token"]) as agent:
        assert (await agent.get("/device/v1/desired-state")).status_code == 200
    shown = (await api.get(f"/api/v1/devices/{device['id']}")).json()
    assert shown["online"] is True, "a poll rewrites a last_seen_at from the future at once"
    assert datetime.fromisoformat(shown["last_seen_at"]) <= datetime.now(UTC)


async def test_device_seen_long_ago_is_offline(api, database):
    device = await fleet.device(api)
    await _set_last_seen(database, device["id"], datetime.now(UTC) - timedelta(minutes=10))
    assert (await api.get(f"/api/v1/devices/{device['id']}")).json()["online"] is False
