"""Signing in and out of the web UI, the session cookie, and CSRF refusal on every form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from edgedock.crypto import token_hash
from edgedock.tokens import service as token_service
from edgedock.tokens.models import WebSession
from tests import factories
from tests.web.conftest import HTML, browser_for, csrf_of, post_form, sign_in

CREDS = "/api/v1/image-credentials"


def _set_cookie(response: httpx.Response, name: str) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert found, f"no {name} cookie set"
    return found[-1]


async def test_sign_in_sets_httponly_samesite_strict_session_cookie(app, tenant):
    async with browser_for(app) as client:
        response = await sign_in(client, tenant.token)
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        cookie = _set_cookie(response, "edgedock_session").lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert "secure" not in cookie, "plain HTTP: a Secure cookie would never come back"
        page = await client.get("/image-credentials")
        assert page.status_code == 200
        assert "Sign out" in page.text


async def test_session_cookie_is_secure_over_https(app, tenant):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="https://testserver", headers=HTML
    ) as client:
        response = await sign_in(client, tenant.token)
        assert response.status_code == 303
        assert "secure" in _set_cookie(response, "edgedock_session").lower()


async def test_sign_in_with_wrong_token_shows_error_and_no_session(app):
    async with browser_for(app) as client:
        response = await sign_in(client, "edk_not-a-real-token")
        assert response.status_code == 401
        assert "not valid" in response.text
        assert "edk_not-a-real-token" not in response.text, "the token is never echoed"
        assert "edgedock_session" not in client.cookies


async def test_pages_redirect_to_sign_in_when_signed_out(anonymous):
    response = await anonymous.get("/image-credentials/new", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/image-credentials/new"


async def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(app, tenant):
    async with browser_for(app) as client:
        form = await client.get("/sign-in?next=/devices")
        assert 'name="next" value="/devices"' in form.text
        response = await client.post(
            "/sign-in",
            data={"csrf_token": csrf_of(form.text), "token": tenant.token, "next": "/devices"},
        )
        assert response.headers["location"] == "/devices"
    async with browser_for(app) as client:
        form = await client.get("/sign-in")
        response = await client.post(
            "/sign-in",
            data={
                "csrf_token": csrf_of(form.text),
                "token": tenant.token,
                "next": "//evil.example/",
            },
        )
        assert response.headers["location"] == "/"


async def test_sign_in_without_its_csrf_token_is_refused(app, tenant):
    async with browser_for(app) as client:
        await client.get("/sign-in")
        response = await client.post("/sign-in", data={"token": tenant.token})
        assert response.status_code == 403
        assert "edgedock_session" not in client.cookies


async def test_sign_in_from_another_site_without_the_cookie_is_refused(app, tenant):
    """Login CSRF: a form posted from elsewhere has no sign-in cookie (SameSite=Strict)."""
    async with browser_for(app) as client:
        response = await client.post(
            "/sign-in", data={"csrf_token": "guessed", "token": tenant.token}
        )
        assert response.status_code == 403


async def test_sign_out_ends_the_session(web):
    response = await post_form(web, "/image-credentials", "/sign-out", {})
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"
    assert "edgedock_session" not in web.cookies
    after = await web.get("/image-credentials")
    assert after.status_code == 303 and after.headers["location"].startswith("/sign-in")


async def test_old_cookie_replayed_after_sign_out_is_refused(app, tenant):
    async with browser_for(app) as client:
        await sign_in(client, tenant.token)
        old_cookie = client.cookies["edgedock_session"]
        response = await post_form(client, "/image-credentials", "/sign-out", {})
        assert response.status_code == 303
    async with browser_for(app) as replay:
        replay.cookies.set("edgedock_session", old_cookie)
        page = await replay.get("/image-credentials")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/sign-in")
        api_call = await replay.get(CREDS, headers={"Accept": "application/json"})
        assert api_call.status_code == 401, "the session cookie never opened the REST API"


async def test_session_past_its_lifetime_is_refused_by_the_server(web, database):
    async with database.transaction() as session:
        await session.execute(
            update(WebSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    response = await web.get("/image-credentials")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")


async def test_session_cookie_is_not_the_api_token_and_only_its_hash_is_stored(
    app, tenant, database
):
    async with browser_for(app) as client:
        await sign_in(client, tenant.token)
        secret = client.cookies["edgedock_session"]
    assert secret != tenant.token
    async with database.transaction() as session:
        rows = (await session.scalars(select(WebSession))).all()
    assert [r.tenant_id for r in rows] == [tenant.id]
    assert rows[0].secret_hash == token_hash(secret)
    assert rows[0].expires_at - rows[0].created_at == timedelta(hours=12)


async def test_signing_out_ends_only_that_session(app, tenant):
    async with browser_for(app) as first, browser_for(app) as second:
        await sign_in(first, tenant.token)
        await sign_in(second, tenant.token)
        await post_form(first, "/image-credentials", "/sign-out", {})
        assert (await second.get("/image-credentials")).status_code == 200


async def test_sign_out_without_csrf_token_is_refused(web):
    response = await web.post("/sign-out")
    assert response.status_code == 403
    assert (await web.get("/image-credentials")).status_code == 200, "still signed in"


async def test_revoking_the_token_ends_its_web_session(web, tenant, database):
    async with database.transaction() as session:
        for row in await token_service.search(session, tenant_id=tenant.id):
            await token_service.revoke(session, tenant_id=tenant.id, token_id=row.id)
    response = await web.get("/image-credentials")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")


FORMS = [
    ("/image-credentials", {"label": "x", "username": "u", "password": "p"}, CREDS),
    ("/applications", {"name": "shop", "description": ""}, "/api/v1/applications"),
    ("/devices", {"name": "gw-1"}, "/api/v1/devices"),
]


@pytest.mark.parametrize(("action", "data", "listing"), FORMS)
async def test_post_without_csrf_token_is_refused_and_creates_nothing(
    web, api, action, data, listing
):
    response = await web.post(action, data=data)
    assert response.status_code == 403
    assert "security token" in response.text
    assert "<html" in response.text, "rendered by the error page, not JSON"
    assert (await api.get(listing)).json()["items"] == []


@pytest.mark.parametrize(("action", "data", "listing"), FORMS)
async def test_post_with_another_sessions_csrf_token_is_refused(
    web, other_web, api, action, data, listing
):
    foreign = csrf_of((await other_web.get("/image-credentials")).text)
    response = await web.post(action, data={**data, "csrf_token": foreign})
    assert response.status_code == 403
    assert (await api.get(listing)).json()["items"] == []


async def test_delete_without_csrf_token_is_refused(web, api):
    creds = await factories.credentials(api, label="keep")
    response = await web.post(
        f"/image-credentials/{creds['id']}/delete", data={"confirm_label": "keep"}
    )
    assert response.status_code == 403
    assert (await api.get(f"{CREDS}/{creds['id']}")).status_code == 200


async def test_pages_send_no_store_and_a_strict_content_security_policy(web):
    response = await web.get("/image-credentials")
    assert response.headers["cache-control"] == "no-store"
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
