"""Helpers for race tests: a tenant with its own client, competitors started together, counts."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement

from edgedock.crypto import Keyring
from edgedock.db import Database
from tests import factories


@dataclass
class RaceServer:
    app: Any
    database: Database
    keyring: Keyring

    @contextlib.asynccontextmanager
    async def tenant_client(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client of a fresh tenant: tests sharing the server never see each other's rows."""
        tenant = await factories.tenant(
            self.database, self.keyring, slug=f"t-{secrets.token_hex(6)}"
        )
        async with factories.client_for(self.app, tenant.token) as client:
            yield client

    async def count(self, model: Any, *where: ColumnElement[bool]) -> int:
        async with self.database.transaction() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def together(*requests: Awaitable[httpx.Response]) -> list[httpx.Response]:
    """Start every request before any can finish; each takes its own database connection."""
    return list(await asyncio.gather(*requests))


def statuses(responses: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


def codes(responses: list[httpx.Response]) -> set[str]:
    """The error codes of the refused requests (every refusal is in the JSON error envelope)."""
    return {r.json()["error"]["code"] for r in responses if r.status_code >= 400}
