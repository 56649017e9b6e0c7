"""The deployments and devices REST API."""

from __future__ import annotations

from tests import factories
from tests.deployments import fleet


async def _app_with_two_releases(api):
    app = await factories.application(api)
    v1 = await factories.release(api, app["id"], version="1.0.0")
    v2 = await factories.release(
        api, app["id"], version="2.0.0", containers=[factories.container("web", "nginx:1.28")]
    )
    return app, v1, v2


async def test_create_device_returns_token_once(api):
    created = await fleet.device(api, "gw-once")
    assert created["token"].startswith("edd_")
    again = (await api.get(f"/api/v1/devices/{created['id']}")).json()
    assert "token" not in again and again["online"] is False and again["last_seen_at"] is None
    listed = (await api.get("/api/v1/devices")).json()["items"]
    assert all("token" not in d for d in listed)


async def test_device_name_is_unique_and_validated(api):
    await fleet.device(api, "GW-7")
    dup = await api.post("/api/v1/devices", json={"name": "gw-7"})
    assert dup.status_code == 409 and dup.json()["error"]["field"] == "name"
    bad = await api.post("/api/v1/devices", json={"name": "a\x00"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "name"


async def test_deployment_starts_pending_with_every_container(api):
    app, v1, _ = await _app_with_two_releases(api)
    device = await fleet.device(api)
    deployment = await fleet.deploy(api, v1["id"], device["id"])
    assert deployment["desired"] == "started" and deployment["status"] == "pending"
    assert [c["status"] for c in deployment["containers"]] == ["pending"]
    assert deployment["application"] == app["name"] and deployment["version"] == "1.0.0"


async def test_start_stop_upgrade_and_delete(api):
    app, v1, v2 = await _app_with_two_releases(api)
    device = await fleet.device(api)
    deployment = await fleet.deploy(api, v1["id"], device["id"])
    url = f"/api/v1/deployments/{deployment['id']}"
    assert (await api.post(f"{url}/stop")).json()["desired"] == "stopped"
    assert (await api.post(f"{url}/start")).json()["desired"] == "started"
    upgraded = (await api.post(f"{url}/upgrade", json={"release_id": v2["id"]})).json()
    assert upgraded["version"] == "2.0.0" and upgraded["containers"][0]["image"] == "nginx:1.28"
    same = await api.post(f"{url}/upgrade", json={"release_id": v2["id"]})
    assert same.status_code == 409
    kinds = [e["kind"] for e in (await api.get(f"{url}/events")).json()["items"]]
    assert kinds == ["upgrade_requested", "start_requested", "stop_requested", "deployed"]
    assert (await api.delete(url)).status_code == 204
    assert (await api.get(url)).status_code == 404


async def test_upgrade_to_another_applications_release_is_422(api):
    _, v1, _ = await _app_with_two_releases(api)
    _, other, _ = await _app_with_two_releases(api)
    device = await fleet.device(api)
    deployment = await fleet.deploy(api, v1["id"], device["id"])
    response = await api.post(
        f"/api/v1/deployments/{deployment['id']}/upgrade", json={"release_id": other["id"]}
    )
    assert response.status_code == 422 and response.json()["error"]["field"] == "release_id"


async def test_same_application_twice_on_a_device_is_409(api):
    _, v1, v2 = await _app_with_two_releases(api)
    device = await fleet.device(api)
    await fleet.deploy(api, v1["id"], device["id"])
    response = await api.post(
        "/api/v1/deployments", json={"release_id": v2["id"], "device_id": device["id"]}
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "already_deployed"


async def test_deployment_refs_of_another_tenant_are_404_and_nothing_created(api, other_api):
    _, v1, _ = await _app_with_two_releases(api)
    mine = await fleet.device(api)
    theirs = await fleet.device(other_api)
    for body in [{"release_id": v1["id"], "device_id": theirs["id"]}]:
        assert (await api.post("/api/v1/deployments", json=body)).status_code == 404
    _, their_release, _ = await _app_with_two_releases(other_api)
    response = await api.post(
        "/api/v1/deployments", json={"release_id": their_release["id"], "device_id": mine["id"]}
    )
    assert response.status_code == 404
    assert (await api.get("/api/v1/deployments")).json()["items"] == []
    deployment = await fleet.deploy(api, v1["id"], mine["id"])
    for method, path in [
        ("GET", ""),
        ("GET", "/events"),
        ("POST", "/start"),
        ("POST", "/stop"),
        ("DELETE", ""),
    ]:
        r = await other_api.request(method, f"/api/v1/deployments/{deployment['id']}{path}")
        assert r.status_code == 404, (method, path)
    assert (await other_api.get(f"/api/v1/devices/{mine['id']}")).status_code == 404
    assert (await other_api.delete(f"/api/v1/devices/{mine['id']}")).status_code == 404
    assert (await api.get(f"/api/v1/deployments/{deployment['id']}")).json()["desired"] == "started"


async def test_invalid_ids_are_clear_errors(api):
    assert (await api.get("/api/v1/deployments/not-a-uuid")).status_code == 404
    bad = await api.post("/api/v1/deployments", json={"release_id": "x", "device_id": "y"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "release_id"


async def test_deleting_a_device_deletes_its_deployments(api, app):
    _, v1, _ = await _app_with_two_releases(api)
    device = await fleet.device(api)
    deployment = await fleet.deploy(api, v1["id"], device["id"])
    assert (await api.delete(f"/api/v1/devices/{device['id']}")).status_code == 204
    assert (await api.get(f"/api/v1/deployments/{deployment['id']}")).status_code == 404
    async with fleet.device_client(app, device["token"]) as agent:
        assert (await agent.get("/device/v1/desired-state")).status_code == 401


async def test_deployments_are_audited(api):
    _, v1, v2 = await _app_with_two_releases(api)
    device = await fleet.device(api)
    deployment = await fleet.deploy(api, v1["id"], device["id"])
    await api.post(f"/api/v1/deployments/{deployment['id']}/upgrade", json={"release_id": v2["id"]})
    actions = [
        e["action"]
        for e in (await api.get("/api/v1/audit-events", params={"device_id": device["id"]})).json()[
            "items"
        ]
    ]
    assert actions[:3] == ["deployments.upgraded", "deployments.created", "devices.created"]


async def test_device_list_searches_and_pages_by_name(api):
    for name in ["edge-b", "Edge-A", "lab-1", "edge_c"]:
        await fleet.device(api, name)
    first = (await api.get("/api/v1/devices", params={"q": "EDGE", "limit": 2})).json()
    assert [d["name"] for d in first["items"]] == ["Edge-A", "edge-b"]
    second = (
        await api.get(
            "/api/v1/devices", params={"q": "edge", "limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [d["name"] for d in second["items"]] == ["edge_c"] and second["next_cursor"] is None
    assert [
        d["name"] for d in (await api.get("/api/v1/devices", params={"q": "_"})).json()["items"]
    ] == ["edge_c"]
    bad = await api.get("/api/v1/devices", params={"cursor": "WyJhIiwibm90LWEtdXVpZCJd"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "cursor"


async def test_bulk_deploy_creates_one_deployment_per_device(api, app):
    _, v1, _ = await _app_with_two_releases(api)
    devices = [await fleet.device(api) for _ in range(5)]
    ids = [d["id"] for d in devices]
    response = await api.post(
        "/api/v1/deployments/bulk", json={"release_id": v1["id"], "device_ids": ids + ids[:2]}
    )
    assert response.status_code == 201, response.text
    items = response.json()["items"]
    assert [i["device_id"] for i in items] == ids, "one each, duplicates folded, order kept"
    assert all(i["status"] == "pending" and i["version"] == "1.0.0" for i in items)
    async with fleet.device_client(app, devices[3]["token"]) as agent:
        state = (await agent.get("/device/v1/desired-state")).json()
    assert [d["id"] for d in state["deployments"]] == [items[3]["id"]]
    audit = (await api.get("/api/v1/audit-events", params={"action": "deployments.created"})).json()
    assert sorted(e["device_id"] for e in audit["items"]) == sorted(ids)


async def test_bulk_deploy_is_all_or_nothing(api, other_api):
    _, v1, v2 = await _app_with_two_releases(api)
    mine = [await fleet.device(api) for _ in range(3)]
    foreign = await fleet.device(other_api)
    refused = await api.post(
        "/api/v1/deployments/bulk",
        json={"release_id": v1["id"], "device_ids": [d["id"] for d in mine] + [foreign["id"]]},
    )
    assert refused.status_code == 404 and refused.json()["error"]["field"] == "device_ids"
    assert (await api.get("/api/v1/deployments")).json()["items"] == []
    await fleet.deploy(api, v1["id"], mine[1]["id"])
    conflict = await api.post(
        "/api/v1/deployments/bulk",
        json={"release_id": v2["id"], "device_ids": [d["id"] for d in mine]},
    )
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "already_deployed"
    assert len((await api.get("/api/v1/deployments")).json()["items"]) == 1
    for body in [
        {"release_id": v1["id"], "device_ids": []},
        {"release_id": v1["id"], "device_ids": ["nope"]},
    ]:
        bad = await api.post("/api/v1/deployments/bulk", json=body)
        assert bad.status_code == 422 and bad.json()["error"]["field"].startswith("device_ids")
