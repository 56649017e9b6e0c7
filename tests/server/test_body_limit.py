"""Request bodies: bounded in size and time, and not read at all for the unauthenticated."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from edgedock.config import Settings
from edgedock.crypto import Keyring
from edgedock.db import Database
from edgedock.notify import LocalNotifier
from edgedock.server.app import create_app
from tests.web.conftest import HTML

CREDS = "/api/v1/image-credentials"
LIMIT = 64 * 1024
CHUNK = 8 * 1024


class CountingBody:
    """A streamed request body that counts how much of it the server consumed."""

    def __init__(self, total: int, *, stall_after: int | None = None) -> None:
        self.total = total
        self.stall_after = stall_after
        self.consumed = 0
        self.never = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.consumed < self.total:
            if self.stall_after is not None and self.consumed >= self.stall_after:
                await self.never.wait()
            self.consumed += CHUNK
            yield b"x" * CHUNK


@pytest.fixture
def small_app(
    tmp_path: Path, database_url: str, secret_keys: str, database: Database, keyring: Keyring
):  # type: ignore[no-untyped-def]
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_keys=secret_keys,  # type: ignore[arg-type]
        max_body_bytes=LIMIT,
        body_timeout=0.5,
    )
    return create_app(settings, database=database, keyring=keyring, notifier=LocalNotifier())


@pytest.fixture
async def small(small_app, tenant) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=small_app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {tenant.token}", "Content-Type": "application/json"},
    ) as client:
        yield client


async def test_declared_over_limit_body_is_refused_413_without_reading_it(small):
    body = CountingBody(20 * 1024 * 1024)
    response = await small.post(
        CREDS, content=body, headers={"Content-Length": str(20 * 1024 * 1024)}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert body.consumed == 0
    listed = await small.get(CREDS)
    assert listed.json()["items"] == []


async def test_chunked_over_limit_body_is_cut_off_at_the_limit_413(small):
    body = CountingBody(20 * 1024 * 1024)
    response = await small.post(CREDS, content=body)
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "too_large",
        "message": f"the request body is larger than {LIMIT} bytes",
    }
    assert body.consumed <= LIMIT + CHUNK, "read no further than the limit"


async def test_body_without_a_token_is_refused_401_before_it_is_read(small_app):
    transport = httpx.ASGITransport(app=small_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for path in (CREDS, "/device/v1/status"):
            body = CountingBody(LIMIT // 2)
            response = await client.post(path, content=body)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"
            assert body.consumed == 0, path


async def test_body_that_stops_arriving_is_refused_408(small):
    body = CountingBody(LIMIT // 2, stall_after=CHUNK)
    response = await small.post(CREDS, content=body)
    assert response.status_code == 408
    assert response.json()["error"]["code"] == "request_timeout"
    assert (await small.get(CREDS)).json()["items"] == []


async def test_body_within_the_limit_reaches_the_route(small):
    response = await small.post(
        CREDS, json={"label": "fits", "username": "u", "password": "p" * 16384}
    )
    assert response.status_code == 201, response.text


async def test_over_limit_form_on_a_page_gets_an_error_page(small_app):
    transport = httpx.ASGITransport(app=small_app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=HTML
    ) as client:
        response = await client.post(
            "/sign-in",
            content=b"token=" + b"x" * LIMIT,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "Too large" in response.text


async def test_bulk_deploy_of_ten_thousand_ids_fits_the_default_limit(api):
    ids = [str(uuid.uuid4()) for _ in range(10_000)]
    payload = json.dumps({"release_id": str(uuid.uuid4()), "device_ids": ids})
    assert len(payload) > 300_000
    response = await api.post(
        "/api/v1/deployments/bulk",
        content=payload,
        headers={"Content-Type": "application/json"},
    )
    # Read, validated and looked up (the release does not exist), not refused for its size.
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "release_not_found"
    one_too_many = json.dumps({"release_id": str(uuid.uuid4()), "device_ids": [*ids, ids[0]]})
    response = await api.post(
        "/api/v1/deployments/bulk",
        content=one_too_many,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "device_ids"
