"""Small async factories for test data, written through the real services."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from edgedock.crypto import Keyring
from edgedock.db import Database
from edgedock.tenants import service as tenant_service
from edgedock.tokens import service as token_service


@dataclass
class TenantWithToken:
    id: uuid.UUID
    slug: str
    token: str


async def tenant(database: Database, keyring: Keyring, *, slug: str) -> TenantWithToken:
    async with database.transaction() as session:
        row = await tenant_service.create(session, slug=slug, keyring=keyring)
        _, token = await token_service.create(session, tenant_id=row.id, name=f"{slug}-admin")
    return TenantWithToken(row.id, row.slug, token)


@contextlib.asynccontextmanager
async def client_for(app: Any, token: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


def unique_password(prefix: str = "pw") -> str:
    """A password that cannot appear anywhere by accident, with characters that break base64."""
    return f"{prefix}-{secrets.token_hex(12)}?>~+/="


async def credentials(
    api: httpx.AsyncClient,
    *,
    label: str | None = None,
    username: str = "robot",
    password: str | None = None,
) -> dict[str, Any]:
    response = await api.post(
        "/api/v1/image-credentials",
        json={
            "label": label or f"creds-{secrets.token_hex(4)}",
            "username": username,
            "password": password or unique_password(),
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def application(
    api: httpx.AsyncClient, *, name: str | None = None, description: str = ""
) -> dict[str, Any]:
    response = await api.post(
        "/api/v1/applications",
        json={"name": name or f"app-{secrets.token_hex(4)}", "description": description},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def container(name: str = "web", image: str = "nginx:1.27", **settings: Any) -> dict[str, Any]:
    """A container of a release request; `settings` adds or overrides fields."""
    return {"name": name, "image": image, **settings}


async def release(
    api: httpx.AsyncClient,
    application_id: str,
    *,
    version: str = "1.0.0",
    containers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    response = await api.post(
        f"/api/v1/applications/{application_id}/releases",
        json={"version": version, "containers": containers or [container()]},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def deployment_row(
    database: Database, *, tenant_id: uuid.UUID, release_id: str, device: str = "gw-1"
) -> uuid.UUID:
    """A device and a deployment of `release_id` on it, written as rows (not through the API)."""
    from edgedock.deployments.models import Deployment
    from edgedock.devices.models import Device
    from edgedock.releases.models import Release

    async with database.transaction() as session:
        row = Device(
            tenant_id=tenant_id,
            name=device,
            name_key=device.casefold(),
            token_hash=secrets.token_hex(32),
        )
        session.add(row)
        await session.flush()
        release = await session.get_one(Release, uuid.UUID(release_id))
        deployment = Deployment(
            tenant_id=tenant_id,
            device_id=row.id,
            release_id=release.id,
            application_id=release.application_id,
        )
        session.add(deployment)
        await session.flush()
        return deployment.id
