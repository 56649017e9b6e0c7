"""Timeline events carry the device's own times, within bounds; statuses the arrival time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edgedock.deployments.reports import event_time
from tests.deployments import fleet

ARRIVED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "stored"),
    [
        (ARRIVED - timedelta(minutes=5), ARRIVED - timedelta(minutes=5)),
        (ARRIVED - timedelta(days=3), ARRIVED - timedelta(days=3)),
        (ARRIVED + timedelta(minutes=5), ARRIVED + timedelta(minutes=5)),
        (ARRIVED + timedelta(days=2), ARRIVED),  # a clock a year ahead, or a day
        (ARRIVED - timedelta(days=400), ARRIVED),  # a clock never set
        (datetime(1970, 1, 1, tzinfo=UTC), ARRIVED),
        (datetime(2026, 12, 1, 11, 55), ARRIVED),  # naive: in no known zone
        (None, ARRIVED),
    ],
)
def test_event_time_is_the_device_time_when_plausible(
    at: datetime | None, stored: datetime
) -> None:
    assert event_time(at, arrived=ARRIVED) == stored


async def test_reported_event_is_stored_at_the_device_time(api, app):
    (
        _,
        release,
    ) = (await fleet.private_release(api))[1:]
    device = await fleet.device(api)
    deployment = await fleet.deploy(api, release["id"], device["id"])
    container = release["containers"][0]
    device_time = datetime.now(UTC) - timedelta(minutes=7)
    future = datetime.now(UTC) + timedelta(days=30)
    events = [
        {
            "deployment_id": deployment["id"],
            "container_id": container["id"],
            "kind": kind,
            "message": kind,
            **({"at": at.isoformat()} if at else {}),
        }
        for kind, at in (("on_time", device_time), ("clock_ahead", future), ("no_time", None))
    ]
    async with fleet.device_client(app, device["token"]) as agent:
        sent = await agent.post("/device/v1/status", json={"events": events})
    assert sent.status_code == 204, sent.text

    timeline = (await api.get(f"/api/v1/deployments/{deployment['id']}/events")).json()["items"]
    by_kind = {e["kind"]: datetime.fromisoformat(e["at"]) for e in timeline}
    assert by_kind["on_time"] == device_time
    now = datetime.now(UTC)
    for kind in ("clock_ahead", "no_time"):  # clamped to, or defaulting to, the arrival time
        assert by_kind[kind] <= now and by_kind[kind] > device_time
