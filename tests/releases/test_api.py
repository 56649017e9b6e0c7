"""The releases REST API: creating, reading, immutability, tenant isolation and delete."""

from __future__ import annotations

import uuid

import pytest

from tests import factories


def _url(app_id: str) -> str:
    return f"/api/v1/applications/{app_id}/releases"


async def test_create_release_returns_201_with_containers_and_credentials(api):
    creds = await factories.credentials(api, label="GHCR", username="bot")
    app = await factories.application(api, name="shop")
    web = factories.container(
        "web",
        "ghcr.io/acme/web:1.4",
        image_credentials_id=creds["id"],
        env={"MODE": "prod"},
        command=["serve", "--port", "80"],
        port_bindings=["8080:80"],
        restart_policy="always",
        binds=["/srv/web:/data:ro"],
        network_mode="host",
        privileged=True,
    )
    body = await factories.release(api, app["id"], version="1.4.0", containers=[web])
    assert set(body) == {
        "id",
        "application_id",
        "application",
        "version",
        "created_at",
        "created_by",
        "containers",
        "warnings",
    }
    assert (body["application_id"], body["application"], body["version"]) == (
        app["id"],
        "shop",
        "1.4.0",
    )
    assert body["created_by"] == "token:acme-admin"
    assert body["warnings"] == []
    (container,) = body["containers"]
    uuid.UUID(container["id"])
    assert container["image"] == "ghcr.io/acme/web:1.4"
    assert container["image_canonical"] == "ghcr.io/acme/web:1.4"
    assert container["registry"] == "ghcr.io"
    assert container["image_credentials_id"] == creds["id"]
    assert container["image_credentials"] == {
        "id": creds["id"],
        "label": "GHCR",
        "username": "bot",
        "deleted_at": None,
    }
    for key in ("env", "command", "port_bindings", "restart_policy", "binds", "network_mode"):
        assert container[key] == web[key]
    assert container["privileged"] is True


async def test_create_release_keeps_container_order(api):
    app = await factories.application(api)
    names = ["zeta", "alpha", "mid"]
    body = await factories.release(
        api, app["id"], containers=[factories.container(n, "busybox") for n in names]
    )
    assert [c["name"] for c in body["containers"]] == names
    got = (await api.get(f"/api/v1/releases/{body['id']}")).json()
    assert [c["name"] for c in got["containers"]] == names


async def test_get_release_returns_what_create_returned(api):
    creds = await factories.credentials(api)
    app = await factories.application(api)
    spec = factories.container("web", image_credentials_id=creds["id"])
    created = await factories.release(api, app["id"], containers=[spec])
    got = await api.get(f"/api/v1/releases/{created['id']}")
    assert got.status_code == 200
    assert got.json() == created


async def test_duplicate_version_in_same_application_is_409(api):
    app = await factories.application(api)
    await factories.release(api, app["id"], version="1.0.0")
    response = await api.post(
        _url(app["id"]), json={"version": "1.0.0", "containers": [factories.container()]}
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("duplicate_version", "version")
    assert len((await api.get(_url(app["id"]))).json()["items"]) == 1


async def test_same_version_is_allowed_in_another_application(api):
    first = await factories.application(api)
    second = await factories.application(api)
    await factories.release(api, first["id"], version="1.0.0")
    await factories.release(api, second["id"], version="1.0.0")


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_update_release_is_405_saying_releases_are_immutable(api, method):
    app = await factories.application(api)
    release = await factories.release(api, app["id"])
    change = {"version": "1.0.0", "containers": [factories.container(image="nginx:1.28")]}
    response = await api.request(method, f"/api/v1/releases/{release['id']}", json=change)
    assert response.status_code == 405
    error = response.json()["error"]
    assert error["code"] == "release_immutable"
    assert "immutable" in error["message"] and "new release" in error["message"]
    got = (await api.get(f"/api/v1/releases/{release['id']}")).json()
    assert got["containers"][0]["image"] == "nginx:1.27"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "POST"])
async def test_no_endpoint_changes_a_release_under_any_path(api, method):
    app = await factories.application(api)
    release = await factories.release(api, app["id"])
    for path in (
        f"/api/v1/releases/{release['id']}/containers",
        f"{_url(app['id'])}/{release['id']}",
    ):
        response = await api.request(method, path, json={})
        assert response.status_code in (404, 405)
    assert (await api.get(f"/api/v1/releases/{release['id']}")).json() == release


async def test_new_version_is_a_new_release_leaving_the_old_one_as_it_was(api):
    app = await factories.application(api)
    old = await factories.release(api, app["id"], version="1.0.0")
    new = await factories.release(
        api, app["id"], version="1.1.0", containers=[factories.container(image="nginx:1.28")]
    )
    assert new["id"] != old["id"]
    assert (await api.get(f"/api/v1/releases/{old['id']}")).json() == old
    listed = (await api.get(_url(app["id"]))).json()["items"]
    assert [r["version"] for r in listed] == ["1.1.0", "1.0.0"]


async def test_list_releases_paginates_newest_first(api):
    app = await factories.application(api)
    versions = [f"1.{i}.0" for i in range(5)]
    for version in versions:
        await factories.release(api, app["id"], version=version)
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        page = (await api.get(_url(app["id"]), params=params)).json()
        seen += [r["version"] for r in page["items"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == list(reversed(versions))


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"cursor": "nonsense"}])
async def test_list_releases_refuses_bad_paging_with_422(api, params):
    app = await factories.application(api)
    response = await api.get(_url(app["id"]), params=params)
    assert response.status_code == 422


@pytest.mark.parametrize("release_id", ["6f1c2b1e-0000-4000-8000-000000000002", "not-a-uuid"])
async def test_get_release_unknown_or_malformed_id_is_404(api, release_id):
    response = await api.get(f"/api/v1/releases/{release_id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "release_not_found"


async def test_release_of_unknown_application_is_404(api):
    payload = {"version": "1.0.0", "containers": [factories.container()]}
    for app_id in (str(uuid.uuid4()), "nope"):
        assert (await api.post(_url(app_id), json=payload)).status_code == 404
        assert (await api.get(_url(app_id))).status_code == 404


async def test_another_tenants_credentials_are_404_and_nothing_is_created(api, other_api):
    theirs = await factories.credentials(other_api, label="theirs")
    mine = await factories.credentials(api, label="mine")
    app = await factories.application(api)
    containers = [
        factories.container("a", image_credentials_id=mine["id"]),
        factories.container("b", image_credentials_id=theirs["id"]),
    ]
    response = await api.post(_url(app["id"]), json={"version": "1.0.0", "containers": containers})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "credentials_not_found"
    assert error["field"] == "containers[1].image_credentials_id"
    assert "theirs" not in response.text
    assert (await api.get(_url(app["id"]))).json()["items"] == []
    assert (await api.get(f"/api/v1/image-credentials/{mine['id']}")).json()["used_by"] == []
    assert (await other_api.get(f"/api/v1/image-credentials/{theirs['id']}")).json()[
        "used_by"
    ] == []
    events = (await api.get("/api/v1/audit-events", params={"action": "releases.created"})).json()
    assert events["items"] == []


async def test_unknown_credentials_id_is_404_naming_the_field(api):
    app = await factories.application(api)
    spec = factories.container("a", image_credentials_id=str(uuid.uuid4()))
    response = await api.post(_url(app["id"]), json={"version": "1.0.0", "containers": [spec]})
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "containers[0].image_credentials_id"


async def test_every_release_endpoint_of_another_tenant_is_404(api, other_api):
    app = await factories.application(api)
    release = await factories.release(api, app["id"])
    payload = {"version": "2.0.0", "containers": [factories.container()]}
    assert (await other_api.get(_url(app["id"]))).status_code == 404
    assert (await other_api.post(_url(app["id"]), json=payload)).status_code == 404
    for method in ("GET", "DELETE", "PUT", "PATCH"):
        response = await other_api.request(method, f"/api/v1/releases/{release['id']}")
        assert response.status_code == 404, method
    assert (await api.get(f"/api/v1/releases/{release['id']}")).json() == release


async def test_delete_release_is_204_and_leaves_other_releases(api):
    app = await factories.application(api)
    old = await factories.release(api, app["id"], version="1.0.0")
    kept = await factories.release(api, app["id"], version="1.1.0")
    assert (await api.delete(f"/api/v1/releases/{old['id']}")).status_code == 204
    assert (await api.get(f"/api/v1/releases/{old['id']}")).status_code == 404
    assert (await api.get(f"/api/v1/releases/{kept['id']}")).status_code == 200
    again = await factories.release(api, app["id"], version="1.0.0")
    assert again["id"] != old["id"]


async def test_delete_release_frees_its_credentials_references(api):
    creds = await factories.credentials(api)
    app = await factories.application(api)
    spec = factories.container(image_credentials_id=creds["id"])
    release = await factories.release(api, app["id"], containers=[spec])
    await api.delete(f"/api/v1/releases/{release['id']}")
    detail = (await api.get(f"/api/v1/image-credentials/{creds['id']}")).json()
    assert (detail["use_count"], detail["used_by"]) == (0, [])
    assert (await api.delete(f"/api/v1/image-credentials/{creds['id']}")).status_code == 204


async def test_delete_deployed_release_is_409_and_keeps_it(api, database, tenant):
    app = await factories.application(api)
    release = await factories.release(api, app["id"])
    deployment_id = await factories.deployment_row(
        database, tenant_id=tenant.id, release_id=release["id"], device="gw-7"
    )
    response = await api.delete(f"/api/v1/releases/{release['id']}")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "release_deployed"
    assert "gw-7" in error["message"]
    assert error["deployments"][0]["deployment_id"] == str(deployment_id)
    assert error["deployments"][0]["device"] == "gw-7"
    assert (await api.get(f"/api/v1/releases/{release['id']}")).json() == release
