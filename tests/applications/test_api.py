"""The applications REST API."""

from __future__ import annotations

import pytest

from tests import factories

URL = "/api/v1/applications"


async def test_create_application_returns_201(api):
    response = await api.post(URL, json={"name": "Shop", "description": "The web shop\nv2"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "description", "created_at", "release_count"}
    assert (body["name"], body["description"], body["release_count"]) == (
        "Shop",
        "The web shop\nv2",
        0,
    )
    assert (await api.get(f"{URL}/{body['id']}")).json() == body


async def test_create_application_trims_name_and_description(api):
    body = await factories.application(api, name="  Shop \t", description="  text  ")
    assert (body["name"], body["description"]) == ("Shop", "text")


async def test_create_application_description_defaults_to_empty(api):
    response = await api.post(URL, json={"name": "x"})
    assert response.json()["description"] == ""


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 101}, "name"),
        ({"name": "a\x07b"}, "name"),
        ({"name": "a\nb"}, "name"),
        ({"name": 5}, "name"),
        ({"name": "ok", "description": "d" * 2001}, "description"),
        ({"name": "ok", "description": "a\x00b"}, "description"),
        ({"name": "ok", "description": "a\x1bb"}, "description"),
        ({"name": "ok", "description": None}, "description"),
        ({"name": "ok", "owner": "me"}, "owner"),
    ],
)
async def test_create_application_refuses_invalid_field_with_422(api, payload, field):
    response = await api.post(URL, json=payload)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert (await api.get(URL)).json()["items"] == []


async def test_duplicate_name_is_409_case_insensitively(api):
    await factories.application(api, name="Shop")
    response = await api.post(URL, json={"name": " SHOP "})
    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("duplicate_name", "name")


async def test_same_name_is_allowed_in_another_tenant(api, other_api):
    await factories.application(api, name="Shop")
    await factories.application(other_api, name="Shop")


async def test_list_applications_searches_name_and_description(api):
    await factories.application(api, name="Billing", description="invoices")
    await factories.application(api, name="Shop", description="the web SHOP")
    await factories.application(api, name="100%_real")
    names = {
        q: [a["name"] for a in (await api.get(URL, params={"q": q})).json()["items"]]
        for q in ("shop", "INVOICE", "%", "_", "nothing")
    }
    assert names == {
        "shop": ["Shop"],
        "INVOICE": ["Billing"],
        "%": ["100%_real"],
        "_": ["100%_real"],
        "nothing": [],
    }


async def test_list_applications_paginates_by_name_with_release_counts(api):
    names = ["delta", "Alpha", "charlie", "bravo", "echo"]
    for name in names:
        await factories.application(api, name=name)
    alpha = (await api.get(URL, params={"q": "alpha"})).json()["items"][0]
    await factories.release(api, alpha["id"], version="1.0.0")
    await factories.release(api, alpha["id"], version="1.0.1")
    seen = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        page = (await api.get(URL, params=params)).json()
        seen += [(a["name"], a["release_count"]) for a in page["items"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [("Alpha", 2), ("bravo", 0), ("charlie", 0), ("delta", 0), ("echo", 0)]
    assert (await api.get(f"{URL}/{alpha['id']}")).json()["release_count"] == 2


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"cursor": "!!"}])
async def test_list_applications_refuses_bad_paging_with_422(api, params):
    response = await api.get(URL, params=params)
    assert response.status_code == 422


@pytest.mark.parametrize("app_id", ["6f1c2b1e-0000-4000-8000-000000000001", "nope"])
async def test_unknown_or_malformed_application_id_is_404(api, app_id):
    for method in ("GET", "DELETE"):
        response = await api.request(method, f"{URL}/{app_id}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "application_not_found"


async def test_another_tenants_application_is_404_and_unchanged(api, other_api):
    app = await factories.application(api)
    for method in ("GET", "DELETE"):
        assert (await other_api.request(method, f"{URL}/{app['id']}")).status_code == 404
    assert (await other_api.get(URL)).json()["items"] == []
    assert (await api.get(f"{URL}/{app['id']}")).status_code == 200


async def test_delete_application_deletes_it_and_its_releases(api):
    creds = await factories.credentials(api)
    app = await factories.application(api, name="Shop")
    spec = factories.container(image_credentials_id=creds["id"])
    releases = [
        await factories.release(api, app["id"], version=v, containers=[spec])
        for v in ("1.0.0", "1.1.0")
    ]
    assert (await api.delete(f"{URL}/{app['id']}")).status_code == 204
    assert (await api.get(f"{URL}/{app['id']}")).status_code == 404
    for release in releases:
        assert (await api.get(f"/api/v1/releases/{release['id']}")).status_code == 404
    assert (await api.get(f"/api/v1/image-credentials/{creds['id']}")).json()["used_by"] == []
    assert (await factories.application(api, name="Shop"))["id"] != app["id"]


async def test_delete_application_with_deployed_release_is_409_and_deletes_nothing(
    api, database, tenant
):
    app = await factories.application(api, name="Shop")
    idle = await factories.release(api, app["id"], version="1.0.0")
    deployed = await factories.release(api, app["id"], version="1.1.0")
    await factories.deployment_row(
        database, tenant_id=tenant.id, release_id=deployed["id"], device="edge-42"
    )
    response = await api.delete(f"{URL}/{app['id']}")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "application_deployed"
    assert "edge-42" in error["message"]
    assert [d["version"] for d in error["deployments"]] == ["1.1.0"]
    assert (await api.get(f"{URL}/{app['id']}")).json()["release_count"] == 2
    for release in (idle, deployed):
        assert (await api.get(f"/api/v1/releases/{release['id']}")).status_code == 200
