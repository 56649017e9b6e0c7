"""Deleting credentials that releases reference: refused without force, tombstoned with it."""

from __future__ import annotations

from unittest.mock import ANY

from tests import factories

CREDS = "/api/v1/image-credentials"


async def _referenced(api, label="Registry"):
    creds = await factories.credentials(api, label=label, username="robot")
    app = await factories.application(api, name="Shop")
    release = await factories.release(
        api,
        app["id"],
        version="1.0.0",
        containers=[
            factories.container("web", "ghcr.io/acme/web:1", image_credentials_id=creds["id"]),
            factories.container(
                "worker", "ghcr.io/acme/worker:1", image_credentials_id=creds["id"]
            ),
            factories.container("cache", "redis:7"),
        ],
    )
    return creds, app, release


async def test_credentials_show_use_count_in_list_and_used_by_on_detail(api):
    creds, app, release = await _referenced(api)
    unused = await factories.credentials(api, label="Unused")
    listed = {c["label"]: c["use_count"] for c in (await api.get(CREDS)).json()["items"]}
    assert listed == {"Registry": 2, "Unused": 0}
    detail = (await api.get(f"{CREDS}/{creds['id']}")).json()
    assert detail["use_count"] == 2
    web, worker = release["containers"][:2]
    assert detail["used_by"] == [
        {
            "application_id": app["id"],
            "application": "Shop",
            "release_id": release["id"],
            "version": "1.0.0",
            "container_id": web["id"],
            "container": "web",
            "image": "ghcr.io/acme/web:1",
        },
        {
            "application_id": app["id"],
            "application": "Shop",
            "release_id": release["id"],
            "version": "1.0.0",
            "container_id": worker["id"],
            "container": "worker",
            "image": "ghcr.io/acme/worker:1",
        },
    ]
    assert (await api.get(f"{CREDS}/{unused['id']}")).json()["used_by"] == []


async def test_delete_referenced_credentials_without_force_is_409_with_references(api):
    creds, _app, release = await _referenced(api)
    for params in ({}, {"force": "false"}):
        response = await api.delete(f"{CREDS}/{creds['id']}", params=params)
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "credentials_in_use"
        assert "force=true" in error["message"]
        assert error["references"] == [
            {
                "application": "Shop",
                "version": "1.0.0",
                "container": name,
                "release_id": release["id"],
            }
            for name in ("web", "worker")
        ]
    assert (await api.get(f"{CREDS}/{creds['id']}")).status_code == 200
    got = (await api.get(f"/api/v1/releases/{release['id']}")).json()
    assert got == release


async def test_delete_referenced_credentials_with_force_leaves_tombstone(api):
    creds, _app, release = await _referenced(api, label="Old registry")
    response = await api.delete(f"{CREDS}/{creds['id']}", params={"force": "true"})
    assert response.status_code == 204
    assert (await api.get(f"{CREDS}/{creds['id']}")).status_code == 404
    got = (await api.get(f"/api/v1/releases/{release['id']}")).json()
    web, worker, cache = got["containers"]
    for container in (web, worker):
        tombstone = container["image_credentials"]
        assert tombstone["id"] is None and container["image_credentials_id"] is None
        assert tombstone["label"] == "Old registry"
        assert tombstone["deleted_at"] is not None
        assert tombstone["username"] is None
    assert cache["image_credentials"] is None
    (warning,) = got["warnings"]
    assert warning["code"] == "credentials_deleted"
    assert warning["containers"] == ["web", "worker"]
    assert "'Old registry'" in warning["message"] and "new release" in warning["message"]
    assert [r["id"] for r in (await api.get(CREDS)).json()["items"]] == []


async def test_tombstone_keeps_label_when_another_credentials_take_the_label(api):
    creds, _app, release = await _referenced(api, label="Hub")
    await api.delete(f"{CREDS}/{creds['id']}", params={"force": "true"})
    await factories.credentials(api, label="Hub")
    got = (await api.get(f"/api/v1/releases/{release['id']}")).json()
    assert got["containers"][0]["image_credentials"]["id"] is None
    assert got["containers"][0]["image_credentials"]["label"] == "Hub"


async def test_release_with_tombstone_can_be_replaced_by_a_new_version(api):
    creds, app, release = await _referenced(api)
    await api.delete(f"{CREDS}/{creds['id']}", params={"force": "true"})
    fresh = await factories.credentials(api, label="Rotated")
    new = await factories.release(
        api,
        app["id"],
        version="1.0.1",
        containers=[
            factories.container("web", "ghcr.io/acme/web:1", image_credentials_id=fresh["id"])
        ],
    )
    assert new["containers"][0]["image_credentials"]["label"] == "Rotated"
    assert new["warnings"] == []
    old = (await api.get(f"/api/v1/releases/{release['id']}")).json()
    assert old["containers"][0]["image_credentials"]["id"] is None


async def test_delete_unreferenced_credentials_needs_no_force(api):
    creds = await factories.credentials(api)
    app = await factories.application(api)
    await factories.release(api, app["id"], containers=[factories.container()])
    assert (await api.delete(f"{CREDS}/{creds['id']}")).status_code == 204


async def test_list_items_carry_used_by_and_use_count(api):
    creds = await factories.credentials(api, label="Listed with uses")
    app = await factories.application(api, name="uses-app")
    await factories.release(
        api,
        app["id"],
        containers=[
            factories.container("a", "ghcr.io/acme/a:1", image_credentials_id=creds["id"]),
            factories.container("b", "ghcr.io/acme/b:1", image_credentials_id=creds["id"]),
        ],
    )
    (item,) = (await api.get("/api/v1/image-credentials", params={"q": "listed with"})).json()[
        "items"
    ]
    assert item["use_count"] == 2
    assert [(u["application"], u["container"]) for u in item["used_by"]] == [
        ("uses-app", "a"),
        ("uses-app", "b"),
    ]


async def _older_release_only(api):
    """Credentials named only by 1.0.0, while 1.1.0 (with other credentials) is the highest."""
    creds, app, old = await _referenced(api)
    other = await factories.credentials(api, label="Other")
    await factories.release(
        api,
        app["id"],
        version="1.1.0",
        containers=[
            factories.container("web", "ghcr.io/acme/web:2", image_credentials_id=other["id"])
        ],
    )
    return creds, app, old


async def test_delete_used_only_by_an_older_undeployed_release_needs_no_force(api):
    creds, _app, old = await _older_release_only(api)
    response = await api.delete(f"{CREDS}/{creds['id']}")
    assert response.status_code == 204, response.text
    got = (await api.get(f"/api/v1/releases/{old['id']}")).json()
    assert [c["image_credentials"] for c in got["containers"][:2]] == [
        {"id": None, "label": "Registry", "username": None, "deleted_at": ANY}
    ] * 2
    (event,) = (
        await api.get("/api/v1/audit-events", params={"action": "credentials.deleted"})
    ).json()["items"]
    assert event["details"] == {"label": "Registry", "forced": False, "references": 2}


async def test_delete_used_by_a_deployed_older_release_still_needs_force(api, database, tenant):
    creds, _app, old = await _older_release_only(api)
    await factories.deployment_row(database, tenant_id=tenant.id, release_id=old["id"])
    response = await api.delete(f"{CREDS}/{creds['id']}")
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "credentials_in_use"
    assert "/replace" in error["message"]
    assert [r["version"] for r in error["references"]] == ["1.0.0", "1.0.0"]
    assert (await api.get(f"{CREDS}/{creds['id']}")).status_code == 200
    assert (await api.delete(f"{CREDS}/{creds['id']}", params={"force": "true"})).status_code == 204
