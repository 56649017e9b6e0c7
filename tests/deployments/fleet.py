"""Test helpers for devices and deployments, through the REST API."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from tests import factories


async def device(api: httpx.AsyncClient, name: str | None = None) -> dict[str, Any]:
    response = await api.post(
        "/api/v1/devices", json={"name": name or f"gw-{secrets.token_hex(3)}"}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def deploy(
    api: httpx.AsyncClient, release_id: str, device_id: str, **extra: Any
) -> dict[str, Any]:
    response = await api.post(
        "/api/v1/deployments", json={"release_id": release_id, "device_id": device_id, **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def private_release(
    api: httpx.AsyncClient,
    *,
    password: str | None = None,
    image: str = "localhost:5055/team/app:1.0",
    version: str = "1.0.0",
    app: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(credentials, application, release) with one container that needs the credentials."""
    creds = await factories.credentials(api, username="robot", password=password)
    app = app or await factories.application(api)
    release = await factories.release(
        api,
        app["id"],
        version=version,
        containers=[
            factories.container("app", image, image_credentials_id=creds["id"]),
            factories.container("sidecar", "busybox:1.36"),
        ],
    )
    return creds, app, release


def device_client(app: Any, token: str) -> Any:
    return factories.client_for(app, token)
