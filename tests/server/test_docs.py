"""The API docs: off by default; when on, served from this server under the pages' headers."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from edgedock.config import Settings
from edgedock.crypto import Keyring
from edgedock.db import Database
from edgedock.notify import LocalNotifier
from edgedock.server.app import create_app


@pytest.fixture
async def docs_client(
    tmp_path: Path, database_url: str, secret_keys: str, database: Database, keyring: Keyring
):  # type: ignore[no-untyped-def]
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_keys=secret_keys,  # type: ignore[arg-type]
        docs=True,
    )
    app = create_app(settings, database=database, keyring=keyring, notifier=LocalNotifier())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_docs_are_off_by_default(anonymous):
    for path in ("/docs", "/redoc", "/docs/assets/swagger-ui-bundle.js"):
        assert (await anonymous.get(path)).status_code == 404, path
    assert (await anonymous.get("/openapi.json")).status_code == 200


async def test_docs_page_loads_nothing_from_another_origin(docs_client):
    page = await docs_client.get("/docs")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert "<script>" not in page.text, "no inline script: the CSP would refuse it"
    for source in sources:
        asset = await docs_client.get(source)
        assert asset.status_code == 200, source
        if source.startswith("/docs/"):
            assert asset.headers["x-content-type-options"] == "nosniff"
    assert (await docs_client.get("/redoc")).status_code == 404


async def test_docs_serve_only_the_assets_the_page_needs(docs_client):
    for name in ("index.html", "..%2F__init__.py", "swagger-ui.js"):
        assert (await docs_client.get(f"/docs/assets/{name}")).status_code == 404, name
