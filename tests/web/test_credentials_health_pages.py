"""Credentials pages: registry and expiry on the create form, the state filter, the binding."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from tests import factories
from tests.credentials import tokens
from tests.web.conftest import post_form
from tests.web.test_credentials_pages import assert_absent

CREDS = "/api/v1/image-credentials"


async def _create(web, **fields: str):
    data = {"label": f"c-{secrets.token_hex(3)}", "username": "robot", **fields}
    return await post_form(web, "/image-credentials/new", "/image-credentials", data)


async def test_the_create_form_takes_a_registry_and_an_expiry_date(web, api):
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    response = await _create(
        web,
        password=factories.unique_password(),
        registry="https://index.docker.io/v1/",
        expires_at=day.isoformat(),
    )
    assert response.status_code == 303, response.text
    page = (await web.get(response.headers["location"])).text
    assert "docker.io" in page and "bound" in page
    assert "expiring" in page and "given at creation" in page
    (item,) = (await api.get(CREDS)).json()["items"]
    assert item["registry"] == "docker.io" and item["expires_at_source"] == "given"
    assert item["expiry_state"] == "expiring"


async def test_create_form_errors_on_registry_and_expiry_keep_the_values_not_the_password(web, api):
    password = factories.unique_password()
    response = await _create(
        web, password=password, registry="not a host!", expires_at="2001-01-01"
    )
    assert response.status_code == 422
    assert 'id="registry-error"' in response.text
    assert 'value="not a host!"' in response.text
    assert_absent(password, response.text, "the re-rendered create form")
    again = await _create(web, password=password, expires_at="2001-01-01")
    assert again.status_code == 422 and 'id="expires_at-error"' in again.text
    assert "in the past" in again.text
    assert (await api.get(CREDS)).json()["items"] == []


async def test_the_list_page_filters_by_expiry_state(web, api):
    now = datetime.now(UTC)
    soon = await factories.credentials(
        api, label="soon-ecr", password=tokens.ecr(now + timedelta(days=3))
    )
    await factories.credentials(api, label="gone-ecr", password=tokens.ecr(now - timedelta(days=1)))
    await factories.credentials(api, label="plain-pat")
    page = await web.get("/image-credentials", params={"state": "expiring"})
    assert page.status_code == 200
    assert soon["label"] in page.text
    assert "gone-ecr" not in page.text and "plain-pat" not in page.text
    assert '<option value="expiring" selected>' in page.text
    expired = (await web.get("/image-credentials", params={"state": "expired"})).text
    assert "gone-ecr" in expired and "soon-ecr" not in expired
    everything = (await web.get("/image-credentials")).text
    assert all(label in everything for label in ("soon-ecr", "gone-ecr", "plain-pat"))


async def test_the_release_form_shows_the_registry_mismatch_on_the_image_field(web, api):
    response = await api.post(
        CREDS,
        json={"label": "ghcr", "username": "u", "password": "p", "registry": "ghcr.io"},
    )
    creds = response.json()
    app = await factories.application(api)
    page = f"/applications/{app['id']}/releases/new"
    response = await post_form(
        web,
        page,
        f"/applications/{app['id']}/releases",
        {
            "rows": "1",
            "version": "1.0.0",
            "containers-0-name": "web",
            "containers-0-image": "docker.io/acme/web:1",
            "containers-0-credentials_id": creds["id"],
        },
    )
    assert response.status_code == 422, response.text
    assert 'id="containers-0-image-error"' in response.text
    assert "bound to registry ghcr.io" in response.text
    assert (await api.get(f"/api/v1/applications/{app['id']}/releases")).json()["items"] == []
