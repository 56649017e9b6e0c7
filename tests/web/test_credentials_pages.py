"""Image credentials pages: the password never comes back, and delete needs the typed label."""

from __future__ import annotations

import html

from tests import factories
from tests.deployments import fleet
from tests.web.conftest import post_form

CREDS = "/api/v1/image-credentials"


def assert_absent(password: str, text: str, where: str) -> None:
    core = password.split("-", 1)[1][:24]  # the random part: unique whatever the escaping
    for form in (password, html.escape(password), core):
        assert form not in text, f"the password appears in {where}"


async def _create(web, label: str, password: str, username: str = "robot"):
    return await post_form(
        web,
        "/image-credentials/new",
        "/image-credentials",
        {"label": label, "username": username, "password": password},
    )


async def test_create_credentials_redirects_to_their_page(web, api):
    response = await _create(web, "GitHub robot", factories.unique_password())
    assert response.status_code == 303
    page = await web.get(response.headers["location"])
    assert page.status_code == 200
    assert "GitHub robot" in page.text and "created" in page.text
    (item,) = (await api.get(CREDS)).json()["items"]
    assert item["label"] == "GitHub robot" and item["fingerprint"] in page.text


async def test_create_form_errors_show_next_to_the_field_and_never_the_password(web, api):
    password = factories.unique_password()
    response = await _create(web, "   ", password)
    assert response.status_code == 422
    assert 'id="label-error"' in response.text and "label must not be empty" in response.text
    assert 'id="password"' in response.text
    assert_absent(password, response.text, "the re-rendered create form")
    assert (await api.get(CREDS)).json()["items"] == []


async def test_duplicate_label_is_shown_on_the_label_field_without_the_password(web, api):
    await factories.credentials(api, label="Docker Hub")
    password = factories.unique_password()
    response = await _create(web, "docker hub", password)
    assert response.status_code == 409
    assert 'id="label-error"' in response.text and "already exist" in response.text
    assert 'value="docker hub"' in response.text, "the label comes back for correction"
    assert_absent(password, response.text, "the form after a duplicate label")


async def test_password_is_never_in_any_page(web, api, app):
    password = factories.unique_password()
    created = await _create(web, "Planted", password)
    assert created.status_code == 303
    (creds,) = (await api.get(CREDS)).json()["items"]
    application = await factories.application(api, name="shop")
    release = await factories.release(
        api,
        application["id"],
        containers=[
            factories.container("web", "ghcr.io/acme/web:1", image_credentials_id=creds["id"])
        ],
    )
    device = await fleet.device(api, "gw-1")
    deployment = await fleet.deploy(api, release["id"], device["id"])
    async with fleet.device_client(app, device["token"]) as agent:
        auth = await agent.post(
            "/device/v1/registry-auth",
            json={
                "deployment_id": deployment["id"],
                "container_id": release["containers"][0]["id"],
            },
        )
        assert auth.status_code == 200
    failed = await _create(web, "", password)  # a validation error after typing it
    assert failed.status_code == 422
    pages = {"the create form after an error": failed.text}
    for path in [
        "/image-credentials",
        "/image-credentials?q=planted",
        "/image-credentials/new",
        f"/image-credentials/{creds['id']}",
        f"/image-credentials/{creds['id']}/delete",
        f"/applications/{application['id']}",
        f"/applications/{application['id']}/releases/new",
        f"/releases/{release['id']}",
        f"/devices/{device['id']}",
        f"/deployments/{deployment['id']}",
        "/deployments",
        "/audit",
        f"/audit?credentials_id={creds['id']}",
    ]:
        response = await web.get(path)
        assert response.status_code == 200, path
        pages[path] = response.text
    assert "registry_auth.issued" in pages["/audit"], "the pull happened and is on the page"
    for where, text in pages.items():
        assert_absent(password, text, where)


async def test_list_shows_fingerprint_kind_expiry_and_use_count(web, api):
    creds = await factories.credentials(api, label="Hub", password="dckr_pat_" + "a" * 27)
    application = await factories.application(api)
    await factories.release(
        api,
        application["id"],
        containers=[factories.container("web", "acme/web:1", image_credentials_id=creds["id"])],
    )
    page = (await web.get("/image-credentials")).text
    assert creds["fingerprint"] in page
    assert "Docker Hub token" in page and "no expiry" in page and "1 container" in page
    assert "Hub" in (await web.get("/image-credentials?q=hub")).text
    assert "No image credentials match" in (await web.get("/image-credentials?q=zzz")).text


async def test_delete_page_lists_the_references_that_will_break(web, api):
    creds = await factories.credentials(api, label="Registry")
    application = await factories.application(api, name="shop")
    await factories.release(
        api,
        application["id"],
        version="2.1.0",
        containers=[
            factories.container("worker", "ghcr.io/acme/worker:1", image_credentials_id=creds["id"])
        ],
    )
    page = await web.get(f"/image-credentials/{creds['id']}/delete")
    assert page.status_code == 200
    assert "1 container of releases use these credentials" in page.text
    for expected in ("shop", "2.1.0", "worker", "ghcr.io/acme/worker:1"):
        assert expected in page.text


async def test_delete_needs_the_label_typed_exactly(web, api):
    creds = await factories.credentials(api, label="Registry")
    application = await factories.application(api)
    release = await factories.release(
        api,
        application["id"],
        containers=[
            factories.container("web", "ghcr.io/acme/web:1", image_credentials_id=creds["id"])
        ],
    )
    page = f"/image-credentials/{creds['id']}/delete"
    for typed in ("", "registry", "Registry2"):
        response = await post_form(web, page, page, {"confirm_label": typed})
        assert response.status_code == 422
        assert 'id="confirm_label-error"' in response.text
        assert (await api.get(f"{CREDS}/{creds['id']}")).status_code == 200, "not deleted"
    response = await post_form(web, page, page, {"confirm_label": "Registry"})
    assert response.status_code == 303 and response.headers["location"] == "/image-credentials"
    assert (await api.get(f"{CREDS}/{creds['id']}")).status_code == 404
    listing = (await web.get("/image-credentials")).text
    assert "deleted" in listing and "Registry" in listing  # the flash message
    release_page = (await web.get(f"/releases/{release['id']}")).text
    assert "were deleted" in release_page, "the release warns about the tombstone"


async def test_unreferenced_credentials_delete_with_the_label_too(web, api):
    creds = await factories.credentials(api, label="Spare")
    page = f"/image-credentials/{creds['id']}/delete"
    assert "breaks nothing" in (await web.get(page)).text
    response = await post_form(web, page, page, {"confirm_label": "Spare"})
    assert response.status_code == 303
    assert (await api.get(CREDS)).json()["items"] == []
