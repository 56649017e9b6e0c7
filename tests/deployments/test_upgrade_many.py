"""POST /api/v1/deployments/upgrade: every deployment of one release moved to another at once."""

from __future__ import annotations

from tests import factories
from tests.deployments import fleet

UPGRADE = "/api/v1/deployments/upgrade"


async def _app_with_two_releases(api, name: str):  # type: ignore[no-untyped-def]
    app = await factories.application(api, name=name)
    v1 = await factories.release(api, app["id"], version="1.0.0")
    v2 = await factories.release(
        api,
        app["id"],
        version="1.1.0",
        containers=[factories.container("web", "nginx:1.28"), factories.container("cache")],
    )
    return app, v1, v2


async def test_upgrade_moves_every_deployment_of_the_release_and_audits_each(api, app):
    _, v1, v2 = await _app_with_two_releases(api, "shop")
    devices = [await fleet.device(api, f"gw-up-{i}") for i in range(3)]
    deployments = [await fleet.deploy(api, v1["id"], d["id"]) for d in devices]
    # Not to be touched: another application's deployment on the same device.
    other_app = await factories.application(api, name="other")
    other = await factories.release(api, other_app["id"], version="1.0.0")
    untouched = await fleet.deploy(api, other["id"], devices[0]["id"])
    async with fleet.device_client(app, devices[0]["token"]) as agent:
        etag = (await agent.get("/device/v1/desired-state")).headers["etag"]
        response = await api.post(UPGRADE, json={"from_release": v1["id"], "to_release": v2["id"]})
        assert response.status_code == 200, response.text
        after = await agent.get("/device/v1/desired-state", headers={"If-None-Match": etag})
    assert after.status_code == 200, "the device's desired state changed"
    body = response.json()
    assert body["skipped"] == []
    assert sorted(d["id"] for d in body["upgraded"]) == sorted(d["id"] for d in deployments)
    for d in body["upgraded"]:
        assert d["version"] == "1.1.0" and d["status"] == "pending"
        assert [c["name"] for c in d["containers"]] == ["web", "cache"]
    untouched_now = (await api.get(f"/api/v1/deployments/{untouched['id']}")).json()
    assert untouched_now["version"] == "1.0.0" and untouched_now["release_id"] == other["id"]
    audit = (
        await api.get("/api/v1/audit-events", params={"action": "deployments.upgraded"})
    ).json()["items"]
    assert sorted(e["resource_id"] for e in audit) == sorted(d["id"] for d in deployments)
    assert all("from 1.0.0 to 1.1.0" in e["summary"] for e in audit)
    events = (await api.get(f"/api/v1/deployments/{deployments[1]['id']}/events")).json()["items"]
    assert events[0]["kind"] == "upgrade_requested" and "1.0.0 to 1.1.0" in events[0]["message"]
    again = await api.post(UPGRADE, json={"from_release": v1["id"], "to_release": v2["id"]})
    assert again.status_code == 200 and again.json() == {"upgraded": [], "skipped": []}


async def test_upgrade_of_named_devices_only_says_why_the_others_were_left(api):
    app, v1, v2 = await _app_with_two_releases(api, "named")
    v3 = await factories.release(api, app["id"], version="2.0.0")
    on_v1 = [await fleet.device(api, f"gw-n{i}") for i in range(3)]
    for d in on_v1:
        await fleet.deploy(api, v1["id"], d["id"])
    on_v2, on_v3, bare = [await fleet.device(api, n) for n in ("gw-v2", "gw-v3", "gw-bare")]
    await fleet.deploy(api, v2["id"], on_v2["id"])
    await fleet.deploy(api, v3["id"], on_v3["id"])
    unknown = "00000000-0000-4000-8000-000000000000"
    named = [on_v1[0]["id"], on_v1[2]["id"], on_v2["id"], on_v3["id"], bare["id"], unknown]
    response = await api.post(
        UPGRADE, json={"from_release": v1["id"], "to_release": v2["id"], "devices": named}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted(d["device"] for d in body["upgraded"]) == ["gw-n0", "gw-n2"]
    assert {s["device_id"]: s["reason"] for s in body["skipped"]} == {
        on_v2["id"]: "already runs 1.1.0",
        on_v3["id"]: "runs 2.0.0, not 1.0.0",
        bare["id"]: "the application is not deployed there",
        unknown: "no such device",
    }
    left = (await api.get("/api/v1/deployments", params={"device_id": on_v1[1]["id"]})).json()
    assert [d["version"] for d in left["items"]] == ["1.0.0"]


async def test_upgrade_refuses_bad_pairs_with_the_field_named(api, other_api):
    _, v1, v2 = await _app_with_two_releases(api, "pairs")
    other_app = await factories.application(api, name="elsewhere")
    foreign_app = await factories.release(api, other_app["id"], version="1.1.0")
    theirs_app = await factories.application(other_api, name="theirs")
    theirs = await factories.release(other_api, theirs_app["id"], version="1.1.0")
    cases = [
        ({"from_release": v1["id"], "to_release": foreign_app["id"]}, 422, "to_release"),
        ({"from_release": v1["id"], "to_release": v1["id"]}, 422, "to_release"),
        ({"from_release": theirs["id"], "to_release": v2["id"]}, 404, "from_release"),
        ({"from_release": v1["id"], "to_release": theirs["id"]}, 404, "to_release"),
    ]
    for body, status, field in cases:
        response = await api.post(UPGRADE, json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["field"] == field
    for body in (
        {"from_release": v1["id"]},
        {"from_release": v1["id"], "to_release": v2["id"], "devices": []},
        {"from_release": "nope", "to_release": v2["id"]},
        {"from_release": v1["id"], "to_release": v2["id"], "force": True},
    ):
        response = await api.post(UPGRADE, json=body)
        assert response.status_code == 422, (body, response.text)
