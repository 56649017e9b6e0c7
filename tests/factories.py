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
