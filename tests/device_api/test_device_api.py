"""The device API as an agent meets it: desired state, registry auth, status."""

from __future__ import annotations

import base64
import json

from edgedock import registry_auth
from tests import factories
from tests.deployments import fleet


async def _setup(api, password="a?b>~-secret"):
    creds, app, release = await fleet.private_release(api, password=password)
    device = await fleet.device(api, "gw-1")
    deployment = await fleet.deploy(api, release["id"], device["id"])
    return creds, release, device, deployment


async def test_desired_state_lists_deployment_without_secret(api, app):
    creds, release, device, deployment = await _setup(api, password="planted-Zq9!")
    async with fleet.device_client(app, device["token"]) as agent:
        response = await agent.get("/device/v1/desired-state")
    assert response.status_code == 200
    assert "planted-Zq9!" not in response.text
    assert creds["label"] not in response.text, "labels are for people, never sent to devices"
    state = response.json()
    (spec,) = state["deployments"]
    assert spec["id"] == deployment["id"] and spec["desired"] == "started"
    by_name = {c["name"]: c for c in spec["containers"]}
    assert by_name["app"]["needs_credentials"] is True
    assert by_name["app"]["image"] == "localhost:5055/team/app:1.0"
    assert by_name["sidecar"]["needs_credentials"] is False
    assert by_name["sidecar"]["image"] == "docker.io/library/busybox:1.36"
    assert response.headers["etag"]


async def test_desired_state_answers_304_when_unchanged(api, app):
    *_, device, _ = await _setup(api)
    async with fleet.device_client(app, device["token"]) as agent:
        etag = (await agent.get("/device/v1/desired-state")).headers["etag"]
        again = await agent.get(
            "/device/v1/desired-state", params={"wait": 0.2}, headers={"If-None-Match": etag}
        )
    assert again.status_code == 304


async def test_registry_auth_matches_conformance_encoding(api, app):
    password = "a?b>~"
    creds, release, device, deployment = await _setup(api, password=password)
    container = next(c for c in release["containers"] if c["name"] == "app")
    async with fleet.device_client(app, device["token"]) as agent:
        response = await agent.post(
            "/device/v1/registry-auth",
            json={"deployment_id": deployment["id"], "container_id": container["id"]},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["serveraddress"] == "localhost:5055"
    assert body["x_registry_auth"] == registry_auth.encode(
        username="robot", password=password, serveraddress="localhost:5055"
    )
    decoded = json.loads(base64.urlsafe_b64decode(body["x_registry_auth"]))
    assert list(decoded) == ["username", "password", "serveraddress"]
    assert response.headers["cache-control"] == "no-store"


async def test_registry_auth_is_audited_without_secret(api, app):
    password = factories.unique_password()
    creds, release, device, deployment = await _setup(api, password=password)
    container = next(c for c in release["containers"] if c["name"] == "app")
    async with fleet.device_client(app, device["token"]) as agent:
        await agent.post(
            "/device/v1/registry-auth",
            json={"deployment_id": deployment["id"], "container_id": container["id"]},
        )
    events = (await api.get("/api/v1/audit-events", params={"credentials_id": creds["id"]})).json()
    issued = [e for e in events["items"] if e["action"] == "registry_auth.issued"]
    assert len(issued) == 1
    assert issued[0]["device_id"] == device["id"]
    assert issued[0]["details"]["image"] == "localhost:5055/team/app:1.0"
    assert password not in json.dumps(events)
    detail = (await api.get(f"/api/v1/image-credentials/{creds['id']}")).json()
    assert detail["pulled_by"] == [], "an auth issued is not a pull done"
    pulled = {
        "deployment_id": deployment["id"],
        "container_id": container["id"],
        "kind": "pulled",
        "message": "pulled localhost:5055/team/app:1.0",
    }
    async with fleet.device_client(app, device["token"]) as agent:
        answer = await agent.post("/device/v1/status", json={"events": [pulled]})
        assert answer.status_code == 204, answer.text
    detail = (await api.get(f"/api/v1/image-credentials/{creds['id']}")).json()
    assert [p["device"] for p in detail["pulled_by"]] == ["gw-1"]


async def test_registry_auth_for_container_without_credentials_is_404(api, app):
    creds, release, device, deployment = await _setup(api)
    sidecar = next(c for c in release["containers"] if c["name"] == "sidecar")
    async with fleet.device_client(app, device["token"]) as agent:
        response = await agent.post(
            "/device/v1/registry-auth",
            json={"deployment_id": deployment["id"], "container_id": sidecar["id"]},
        )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "no_credentials_needed"


async def test_registry_auth_for_another_devices_deployment_is_404(api, app):
    creds, release, device, deployment = await _setup(api)
    other = await fleet.device(api, "gw-2")
    container = next(c for c in release["containers"] if c["name"] == "app")
    async with fleet.device_client(app, other["token"]) as agent:
        response = await agent.post(
            "/device/v1/registry-auth",
            json={"deployment_id": deployment["id"], "container_id": container["id"]},
        )
        garbage = await agent.post(
            "/device/v1/registry-auth",
            json={"deployment_id": "nope", "container_id": container["id"]},
        )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "container_not_found"
    assert garbage.status_code == 404


async def test_registry_auth_for_another_tenants_deployment_is_404(api, other_api, app):
    creds, release, device, deployment = await _setup(api)
    foreign = await fleet.device(other_api, "gw-1")
    container = next(c for c in release["containers"] if c["name"] == "app")
    async with fleet.device_client(app, foreign["token"]) as agent:
        response = await agent.post(
            "/device/v1/registry-auth",
            json={"deployment_id": deployment["id"], "container_id": container["id"]},
        )
    assert response.status_code == 404


async def test_registry_auth_after_forced_delete_is_410_naming_credentials(api, app):
    creds, release, device, deployment = await _setup(api)
    container = next(c for c in release["containers"] if c["name"] == "app")
    assert (
        await api.delete(f"/api/v1/image-credentials/{creds['id']}", params={"force": "true"})
    ).status_code == 204
    async with fleet.device_client(app, device["token"]) as agent:
        response = await agent.post(
            "/device/v1/registry-auth",
            json={"deployment_id": deployment["id"], "container_id": container["id"]},
        )
        state = (await agent.get("/device/v1/desired-state")).json()
    assert response.status_code == 410
    message = response.json()["error"]["message"]
    assert creds["id"] in message and "new release" in message
    assert creds["label"] not in message, "labels are never sent to devices"
    app_spec = next(c for c in state["deployments"][0]["containers"] if c["name"] == "app")
    assert app_spec["needs_credentials"] is True


async def test_device_endpoints_refuse_api_tokens_and_bad_tokens(api, anonymous):
    for headers in [{}, {"Authorization": "Bearer edd_nope"}]:
        response = await anonymous.get("/device/v1/desired-state", headers=headers)
        assert response.status_code == 401
    assert (await api.get("/device/v1/desired-state")).status_code == 401


async def test_status_report_updates_containers_and_timeline(api, app):
    creds, release, device, deployment = await _setup(api)
    container = next(c for c in release["containers"] if c["name"] == "app")
    report = {
        "engine": {"name": "Podman Engine", "version": "4.3.1", "os": "linux", "arch": "amd64"},
        "containers": [
            {
                "deployment_id": deployment["id"],
                "container_id": container["id"],
                "status": "error",
                "message": "unauthorized: authentication required",
            }
        ],
        "events": [
            {
                "deployment_id": deployment["id"],
                "container_id": container["id"],
                "kind": "pull_failed",
                "message": "unauthorized: authentication required",
                "at": "2026-11-27T00:00:00Z",
            }
        ],
    }
    async with fleet.device_client(app, device["token"]) as agent:
        assert (await agent.post("/device/v1/status", json=report)).status_code == 204
        assert (await agent.post("/device/v1/status", json=report)).status_code == 204
    got = (await api.get(f"/api/v1/deployments/{deployment['id']}")).json()
    app_state = next(c for c in got["containers"] if c["name"] == "app")
    assert app_state["status"] == "error"
    assert app_state["message"] == "unauthorized: authentication required"
    assert got["status"] == "error"
    timeline = (await api.get(f"/api/v1/deployments/{deployment['id']}/events")).json()["items"]
    assert [e["kind"] for e in timeline].count("status_error") == 1, (
        "unchanged status is no new event"
    )
    assert any(e["kind"] == "pull_failed" and e["container"] == "app" for e in timeline)
    dev = (await api.get(f"/api/v1/devices/{device['id']}")).json()
    assert dev["engine"]["name"] == "Podman Engine" and dev["online"] is True
    audit = (await api.get("/api/v1/audit-events", params={"device_id": device["id"]})).json()
    assert any(e["action"] == "pull.failed" for e in audit["items"])


async def test_status_report_for_unknown_deployment_is_ignored(api, app):
    *_, device, _ = await _setup(api)
    report = {"containers": [{"deployment_id": "x", "container_id": "y", "status": "running"}]}
    async with fleet.device_client(app, device["token"]) as agent:
        assert (await agent.post("/device/v1/status", json=report)).status_code == 204
        bad = await agent.post("/device/v1/status", json={"containers": [{"status": "flying"}]})
    assert bad.status_code == 422
