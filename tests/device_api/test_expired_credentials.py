"""Registry auth refuses expired credentials with 410 `credentials_expired`, cached or not."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from edgedock.device_api import service as device_api_service
from tests.credentials import tokens
from tests.deployments import fleet


async def _setup(api, password: str):
    creds, _app, release = await fleet.private_release(api, password=password)
    device = await fleet.device(api, f"gw-{uuid.uuid4().hex[:6]}")
    deployment = await fleet.deploy(api, release["id"], device["id"])
    container = next(c for c in release["containers"] if c["name"] == "app")
    ids = {"deployment_id": deployment["id"], "container_id": container["id"]}
    return creds, device, ids


async def _expiry_events(api, credentials_id: str) -> list[dict]:
    page = (await api.get("/api/v1/audit-events", params={"credentials_id": credentials_id})).json()
    return [e for e in page["items"] if e["action"] == "credentials.expired"]


async def test_registry_auth_for_credentials_that_expired_yesterday_is_410_naming_them(api, app):
    expired_at = datetime.now(UTC) - timedelta(days=1)
    password = tokens.ecr(expired_at)
    creds, device, ids = await _setup(api, password)
    async with fleet.device_client(app, device["token"]) as agent:
        first = await agent.post("/device/v1/registry-auth", json=ids)
        again = await agent.post("/device/v1/registry-auth", json=ids)
    assert first.status_code == 410, first.text
    error = first.json()["error"]
    assert error["code"] == "credentials_expired"
    message = error["message"]
    assert creds["id"] in message and "expired on" in message
    assert f"{expired_at:%Y-%m-%d %H:%M}" in message
    assert "create new credentials" in message
    assert creds["label"] not in message, "labels are never sent to devices"
    assert password not in first.text and "x_registry_auth" not in first.text
    assert again.status_code == 410
    # The refusal audits the expiry (no sweep ran here), once however often it refuses.
    (event,) = await _expiry_events(api, creds["id"])
    assert creds["label"] in event["summary"]
    issued = (
        await api.get("/api/v1/audit-events", params={"action": "registry_auth.issued"})
    ).json()
    assert issued["items"] == []


async def test_a_cached_pull_target_is_refused_once_its_expiry_passes_fake_clock(
    api, app, monkeypatch
):
    """The expiry passes by time: no change notification drops the cached target, so the
    answer checks the cached expiry itself. The server's clock is moved past the expiry (a
    fake clock: the test does not wait for real time to pass)."""
    exp = datetime.now(UTC) + timedelta(hours=1)
    creds, device, ids = await _setup(api, tokens.jwt(exp))
    cache = app.state.edgedock.pull_targets
    key = (
        uuid.UUID(device["id"]),
        uuid.UUID(ids["deployment_id"]),
        uuid.UUID(ids["container_id"]),
    )
    async with fleet.device_client(app, device["token"]) as agent:
        before = await agent.post("/device/v1/registry-auth", json=ids)
        assert before.status_code == 200, before.text
        assert cache.get(key) is not None, "the target is cached for the next pull"
        later = exp.replace(microsecond=0) + timedelta(seconds=1)
        monkeypatch.setattr(device_api_service, "utcnow", lambda: later)
        after = await agent.post("/device/v1/registry-auth", json=ids)
        assert cache.get(key) is not None, "still cached: nothing changed but the time"
    assert after.status_code == 410, after.text
    assert after.json()["error"]["code"] == "credentials_expired"
    assert creds["id"] in after.json()["error"]["message"]
