"""Fuzzing the OpenAPI: schemathesis drives every /api and /device operation, and no answer is a 5xx.

The application runs in process (ASGI) on its own fresh database of each backend, with its own
engine: schemathesis calls it from its own event-loop thread, so it cannot share the savepoint
session of the other tests. Requests carry a tenant's API token (/api) or a device token
(/device), so the generated input reaches the services instead of stopping at authentication.
Examples are derandomized and few per operation: the run stays short and the same in CI.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi as schemathesis_asgi

from edgedock.config import Settings
from edgedock.crypto import EnvKeyStore, Keyring
from edgedock.db import Database
from edgedock.devices import service as device_service
from edgedock.devices.schemas import DeviceCreate
from edgedock.server.app import create_app
from tests.conftest import BACKENDS, create_database, drop_database

EXAMPLES_PER_OPERATION = 6


@dataclass
class Target:
    schema: Any
    api_token: str
    device_token: str


async def _tokens(url: str, keyring: Keyring) -> tuple[str, str]:
    from edgedock.actors import Actor
    from edgedock.tenants import service as tenant_service
    from edgedock.tokens import service as token_service

    database = Database.connect(url)
    try:
        async with database.transaction() as session:
            tenant = await tenant_service.create(session, slug="fuzz", keyring=keyring)
            _, api_token = await token_service.create(session, tenant_id=tenant.id, name="fuzz")
            actor = Actor(tenant_id=tenant.id, name="admin:fuzz")
            _, device_token = await device_service.create(
                session, actor=actor, data=DeviceCreate(name="gw-fuzz")
            )
    finally:
        await database.dispose()
    return api_token, device_token


def _no_registry_fake() -> httpx.MockTransport:
    """Credentials checks with generated images must not reach real hosts: every request a
    check sends meets a refused connection here instead of the network."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no network in the fuzz run", request=request)

    return httpx.MockTransport(refuse)


def _in_thread(coroutine: Any) -> Any:
    """Run a coroutine on its own loop, apart from the test session's running one."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="module", params=BACKENDS)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, secret_keys: str
) -> Iterator[Target]:
    folder: Path = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    url = create_database(request.param, folder)
    try:
        api_token, device_token = _in_thread(_tokens(url, Keyring(EnvKeyStore(secret_keys))))
        settings = Settings(
            data_dir=folder,
            database_url=url,  # type: ignore[arg-type]
            secret_keys=secret_keys,  # type: ignore[arg-type]
            max_poll_wait=0.05,
        )
        app = create_app(settings, registry_transport=_no_registry_fake())
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        yield Target(schema, api_token, device_token)
        schemathesis_asgi.shutdown_lifespans()
    finally:
        drop_database(url)


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation, read from a throwaway app (no database is touched)."""
    app = create_app(
        Settings(database_url="sqlite:///:memory:", secret_keys="k1:" + "A" * 43 + "=")  # type: ignore[arg-type]
    )
    paths = app.openapi()["paths"]
    return sorted((method.upper(), path) for path, ops in paths.items() for method in ops)


OPERATIONS = _operations()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_never_answers_a_server_error(target: Target, method: str, path: str) -> None:
    operation = target.schema[path][method]
    token = target.device_token if path.startswith("/device/") else target.api_token
    headers = {"Authorization": f"Bearer {token}"}
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=cases)
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error], headers=headers)

    run()
