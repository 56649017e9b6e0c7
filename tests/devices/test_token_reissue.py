"""Re-issuing a device token: the new one works, the old one is refused at once, even warm."""

from __future__ import annotations

import asyncio

from tests.deployments import fleet


async def _reissue(api, device_id: str):  # type: ignore[no-untyped-def]
    return await api.post(f"/api/v1/devices/{device_id}/token")


async def test_reissued_token_works_and_the_warm_old_token_gets_401_at_once(api, app):
    _, _, release = await fleet.private_release(api)
    device = await fleet.device(api, "gw-lost-token")
    deployment = await fleet.deploy(api, release["id"], device["id"])
    async with fleet.device_client(app, device["token"]) as old:
        # Warm: this replica now answers the old token's polls and pings from memory.
        assert (await old.get("/device/v1/ping")).status_code == 204
        etag = (await old.get("/device/v1/desired-state")).headers["etag"]
        assert (
            await old.get("/device/v1/desired-state", headers={"If-None-Match": etag})
        ).status_code == 304
        response = await _reissue(api, device["id"])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"] == device["id"] and body["deployment_count"] == 1
        assert body["token"].startswith("edd_") and body["token"] != device["token"]
        assert (await old.get("/device/v1/ping")).status_code == 401
        refused = await old.get("/device/v1/desired-state", headers={"If-None-Match": etag})
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "device_token_invalid"
        auth = await old.post(
            "/device/v1/registry-auth",
            json={
                "deployment_id": deployment["id"],
                "container_id": release["containers"][0]["id"],
            },
        )
        assert auth.status_code == 401
    async with fleet.device_client(app, body["token"]) as new:
        assert (await new.get("/device/v1/ping")).status_code == 204
        state = await new.get("/device/v1/desired-state")
        assert state.status_code == 200
        assert [d["id"] for d in state.json()["deployments"]] == [deployment["id"]]
        assert state.headers["etag"] == etag, "the device keeps what it runs"


async def test_a_poll_parked_with_the_old_token_answers_401_when_it_is_reissued(api, app):
    device = await fleet.device(api, "gw-parked")
    async with fleet.device_client(app, device["token"]) as old:
        etag = (await old.get("/device/v1/desired-state")).headers["etag"]
        parked = asyncio.create_task(
            old.get(
                "/device/v1/desired-state",
                params={"wait": 60},
                headers={"If-None-Match": etag},
                timeout=30,
            )
        )
        await asyncio.sleep(0.2)
        assert not parked.done()
        assert (await _reissue(api, device["id"])).status_code == 200
        response = await asyncio.wait_for(parked, 20)
    assert response.status_code == 401


async def test_reissue_is_audited_without_the_token(api):
    device = await fleet.device(api, "gw-audited")
    token = (await _reissue(api, device["id"])).json()["token"]
    events = (
        await api.get(
            "/api/v1/audit-events",
            params={"device_id": device["id"], "action": "devices.token_reissued"},
        )
    ).json()["items"]
    assert [e["action"] for e in events] == ["devices.token_reissued"]
    assert "gw-audited" in events[0]["summary"]
    everything = (await api.get("/api/v1/audit-events", params={"limit": 200})).text
    assert token not in everything and token.split("_", 1)[1][:16] not in everything


async def test_reissue_of_an_unknown_or_foreign_device_is_404(api, other_api, app):
    device = await fleet.device(api, "gw-mine")
    assert (await other_api.post(f"/api/v1/devices/{device['id']}/token")).status_code == 404
    assert (await api.post("/api/v1/devices/not-an-id/token")).status_code == 404
    missing = await api.post("/api/v1/devices/00000000-0000-4000-8000-000000000000/token")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "device_not_found"
    async with fleet.device_client(app, device["token"]) as agent:
        assert (await agent.get("/device/v1/ping")).status_code == 204, "the token still works"
