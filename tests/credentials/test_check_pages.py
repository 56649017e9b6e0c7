"""The health badge and the Check button of the credentials pages, against the real registries."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests import factories
from tests.web.conftest import browser_for, post_form, sign_in


@pytest.fixture
async def web(app, tenant) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with browser_for(app) as client:
        assert (await sign_in(client, tenant.token)).status_code == 303
        yield client


async def _check(web, credential_id: str, image: str) -> httpx.Response:
    page = f"/image-credentials/{credential_id}"
    return await post_form(web, page, f"{page}/check", {"image": image})


async def test_unchecked_credentials_show_not_checked_and_a_check_form(web, api):
    created = await factories.credentials(api)
    page = await web.get(f"/image-credentials/{created['id']}")
    assert "not checked" in page.text
    assert f'action="/image-credentials/{created["id"]}/check"' in page.text
    assert 'name="image"' in page.text and 'name="csrf_token"' in page.text
    assert "not checked" in (await web.get("/image-credentials")).text


async def test_check_button_shows_works_on_detail_and_list(web, api, basic_registry):
    created = await factories.credentials(
        api, username="deployer", password=basic_registry.users["deployer"]
    )
    response = await _check(web, created["id"], basic_registry.image)
    assert response.status_code == 303
    page = await web.get(response.headers["location"])
    assert "The registry accepts these credentials" in page.text
    assert "badge ok health" in page.text and ">works<" in page.text
    assert basic_registry.image in page.text
    listing = await web.get("/image-credentials")
    assert ">works<" in listing.text and "can push" not in listing.text


async def test_credentials_that_can_push_are_flagged_on_the_pages(web, api, bearer_registry):
    created = await factories.credentials(
        api, username="pusher", password=bearer_registry.users["pusher"]
    )
    response = await _check(web, created["id"], bearer_registry.image)
    page = await web.get(response.headers["location"])
    assert "can push" in page.text and "devices only need pull" in page.text
    assert "can push" in (await web.get("/image-credentials")).text


async def test_a_failed_check_shows_the_registry_words(web, api, bearer_registry):
    created = await factories.credentials(
        api, username="stranger", password=bearer_registry.users["stranger"]
    )
    response = await _check(web, created["id"], bearer_registry.image)
    page = await web.get(response.headers["location"])
    assert "Check failed (denied)" in page.text
    assert "badge bad health" in page.text and ">denied<" in page.text


async def test_an_invalid_image_is_shown_next_to_the_field(web, api):
    created = await factories.credentials(api)
    response = await _check(web, created["id"], "Not An Image")
    assert response.status_code == 422
    assert 'id="image-error"' in response.text


async def test_no_image_and_no_use_is_shown_next_to_the_field(web, api):
    created = await factories.credentials(api)
    response = await _check(web, created["id"], "")
    assert response.status_code == 422
    assert "give the image" in response.text


async def test_check_without_the_csrf_token_is_refused(web, api):
    created = await factories.credentials(api)
    response = await web.post(f"/image-credentials/{created['id']}/check", data={"image": "nginx"})
    assert response.status_code == 403
    assert (await api.get(f"/api/v1/image-credentials/{created['id']}")).json()[
        "last_check"
    ] is None
