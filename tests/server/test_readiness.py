"""Liveness and readiness, and a database that cannot be opened answered as 503, in process."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from edgedock.config import Settings
from edgedock.db import Database
from edgedock.notify import LocalNotifier
from edgedock.server.app import create_app


async def test_readyz_answers_ready_when_the_database_answers(anonymous: httpx.AsyncClient):
    response = await anonymous.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready"}


@pytest.fixture
async def unopenable(tmp_path: Path, keyring, secret_keys):  # type: ignore[no-untyped-def]
    """An app whose SQLite file lies in a folder that does not exist: every open fails."""
    url = f"sqlite:///{tmp_path / 'missing' / 'edgedock.db'}"
    settings = Settings(data_dir=tmp_path, database_url=url, secret_keys=secret_keys)  # type: ignore[arg-type]
    database = Database.connect(url)
    app = create_app(settings, database=database, keyring=keyring, notifier=LocalNotifier())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await database.dispose()


async def test_database_that_cannot_open_answers_503_logged_once(
    unopenable: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edgedock")
    headers = {"Authorization": "Bearer edk_whatever"}

    listed = await unopenable.get("/api/v1/devices", headers=headers)
    ready = await unopenable.get("/readyz")
    alive = await unopenable.get("/healthz")

    for response in (listed, ready):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "database_unavailable"
        assert response.headers["retry-after"] == "5"
    assert alive.status_code == 200
    records = [r for r in caplog.records if "database_unavailable" in r.getMessage()]
    assert [r.getMessage().split(":")[0] for r in records] == ["GET /api/v1/devices", "GET /readyz"]
    assert all(r.exc_info is None for r in caplog.records), "no traceback for an outage"
