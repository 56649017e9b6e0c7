"""The list APIs' exact filters, which the CLI uses to turn names into ids."""

from __future__ import annotations

from tests import factories


async def test_applications_name_filter_is_exact_and_case_insensitive(api):
    shop = await factories.application(api, name="Shop")
    await factories.application(api, name="Shop-2")
    body = (await api.get("/api/v1/applications", params={"name": " shop "})).json()
    assert [a["id"] for a in body["items"]] == [shop["id"]]
    none = (await api.get("/api/v1/applications", params={"name": "sho"})).json()
    assert none["items"] == []


async def test_devices_name_filter_is_exact(api):
    created = (await api.post("/api/v1/devices", json={"name": "gw-lab-2"})).json()
    await api.post("/api/v1/devices", json={"name": "gw-lab-20"})
    body = (await api.get("/api/v1/devices", params={"name": "GW-LAB-2"})).json()
    assert [d["id"] for d in body["items"]] == [created["id"]]


async def test_credentials_label_filter_is_exact(api):
    internal = await factories.credentials(api, label="Internal Registry")
    await factories.credentials(api, label="Internal Registry (old)")
    body = (
        await api.get("/api/v1/image-credentials", params={"label": "internal registry"})
    ).json()
    assert [c["id"] for c in body["items"]] == [internal["id"]]


async def test_release_version_filters_in_one_application_and_in_the_tenant(api, other_api):
    first = await factories.application(api, name="sensor-gateway")
    second = await factories.application(api, name="camera")
    a1 = await factories.release(api, first["id"], version="1.2.0")
    await factories.release(api, first["id"], version="1.2.1")
    b1 = await factories.release(api, second["id"], version="1.2.0")
    theirs = await factories.application(other_api, name="sensor-gateway")
    await factories.release(other_api, theirs["id"], version="1.2.0")

    mine = await api.get(
        f"/api/v1/applications/{first['id']}/releases", params={"version": "1.2.0"}
    )
    assert [r["id"] for r in mine.json()["items"]] == [a1["id"]]
    everywhere = (await api.get("/api/v1/releases", params={"version": "1.2.0"})).json()
    assert sorted((r["application"], r["id"]) for r in everywhere["items"]) == sorted(
        [("sensor-gateway", a1["id"]), ("camera", b1["id"])]
    )
    assert len((await api.get("/api/v1/releases")).json()["items"]) == 3


async def test_tenant_releases_page_with_a_cursor(api):
    app = await factories.application(api)
    for i in range(3):
        await factories.release(api, app["id"], version=f"1.0.{i}")
    first = (await api.get("/api/v1/releases", params={"limit": 2})).json()
    second = (await api.get("/api/v1/releases", params={"cursor": first["next_cursor"]})).json()
    versions = [r["version"] for r in first["items"] + second["items"]]
    assert sorted(versions) == ["1.0.0", "1.0.1", "1.0.2"] and second["next_cursor"] is None


async def test_exact_filters_refuse_invalid_text_with_422(api):
    for path, key in [
        ("/api/v1/applications", "name"),
        ("/api/v1/devices", "name"),
        ("/api/v1/image-credentials", "label"),
    ]:
        response = await api.get(path, params={key: "a\x00b"})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["field"] == key
    bad_version = await api.get("/api/v1/releases", params={"version": "1.0 0"})
    assert bad_version.status_code == 422
