"""Web UI fixtures: clients that behave like a browser (cookies, HTML accepted) in process."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests import factories

HTML = {"Accept": "text/html,application/xhtml+xml"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


@contextlib.asynccontextmanager
async def browser_for(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=HTML
    ) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, token: str) -> httpx.Response:
    form = await client.get("/sign-in")
    assert form.status_code == 200
    return await client.post(
        "/sign-in", data={"csrf_token": csrf_of(form.text), "token": token, "next": "/"}
    )


async def post_form(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, str]
) -> httpx.Response:
    """Load `page`, then submit `data` to `action` with that page's CSRF token, as a browser does."""
    loaded = await client.get(page)
    assert loaded.status_code == 200, loaded.text
    return await client.post(action, data={"csrf_token": csrf_of(loaded.text), **data})


@pytest.fixture
async def web(app, tenant: factories.TenantWithToken) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """A browser-like client signed in to the web UI as tenant `acme`."""
    async with browser_for(app) as client:
        response = await sign_in(client, tenant.token)
        assert response.status_code == 303, response.text
        yield client


@pytest.fixture
async def other_web(  # type: ignore[no-untyped-def]
    app, other_tenant: factories.TenantWithToken
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client signed in to the web UI as tenant `globex`."""
    async with browser_for(app) as client:
        response = await sign_in(client, other_tenant.token)
        assert response.status_code == 303, response.text
        yield client
