"""Shared fixtures: one schema per backend built by the migrations, one savepoint per test.

Every test that touches the database runs once on SQLite and once on PostgreSQL (the
`database_url` fixture is parametrized); `make test` can narrow that with EDGEDOCK_TEST_BACKENDS.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from edgedock.config import Settings
from edgedock.crypto import EnvKeyStore, Keyring
from edgedock.db import Database, make_engine
from edgedock.migrations import upgrade
from edgedock.notify import LocalNotifier
from edgedock.server.app import create_app
from tests import factories
from tests.support.live_server import LiveServer, running_server

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PG_ADMIN_URL = os.environ.get(
    "EDGEDOCK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [
    b for b in os.environ.get("EDGEDOCK_TEST_BACKENDS", "sqlite,postgresql").split(",") if b
]


def pytest_report_header() -> str:
    return f"edgedock database backends: {', '.join(BACKENDS)}"


async def _pg_admin(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def create_database(backend: str, folder: Path) -> str:
    """A fresh, migrated database of `backend`; returns its plain URL."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / f'edgedock-{uuid.uuid4().hex[:8]}.db'}"
    else:
        name = f"edgedock_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    return url


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        name = url.rsplit("/", 1)[1]
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    url = create_database(request.param, tmp_path_factory.mktemp(request.param))
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def secret_keys() -> str:
    return "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture(scope="session")
def keyring(secret_keys: str) -> Keyring:
    return Keyring(EnvKeyStore(secret_keys))


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def database(engine: AsyncEngine) -> AsyncIterator[Database]:
    """A Database whose sessions all live inside one outer transaction, rolled back at the end."""
    async with engine.connect() as connection:
        outer = await connection.begin()
        sessions = async_sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        yield Database(engine=engine, sessions=sessions)
        if outer.is_active:
            await outer.rollback()


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    async with database.transaction() as session:
        yield session


@pytest.fixture
def app_settings(tmp_path: Path, database_url: str, secret_keys: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, secret_keys=secret_keys)  # type: ignore[arg-type]


@pytest.fixture
def settings(app_settings: Settings) -> Settings:
    return app_settings


@pytest.fixture
def app(app_settings: Settings, database: Database, keyring: Keyring):  # type: ignore[no-untyped-def]
    # Built from `app_settings`, not `settings`: a test that parametrizes its own `settings`
    # (release container settings, say) would otherwise hand the app a dict.
    return create_app(app_settings, database=database, keyring=keyring, notifier=LocalNotifier())


@pytest.fixture
async def anonymous(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def tenant(database: Database, keyring: Keyring) -> factories.TenantWithToken:
    return await factories.tenant(database, keyring, slug="acme")


@pytest.fixture
async def other_tenant(database: Database, keyring: Keyring) -> factories.TenantWithToken:
    return await factories.tenant(database, keyring, slug="globex")


@pytest.fixture
async def api(app, tenant: factories.TenantWithToken) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """A client authenticated as tenant `acme`."""
    async with factories.client_for(app, tenant.token) as client:
        yield client


@pytest.fixture
async def other_api(
    app, other_tenant: factories.TenantWithToken
) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """A client authenticated as tenant `globex`."""
    async with factories.client_for(app, other_tenant.token) as client:
        yield client


@pytest.fixture(scope="module", params=BACKENDS)
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A real `edgedock serve` process on its own fresh database, logging at DEBUG.

    Shared by the tests of one module (a start costs seconds): tests use unique names.
    """
    folder = tmp_path_factory.mktemp(f"live-{request.param}")
    url = create_database(request.param, folder)
    try:
        with running_server(folder / "server", url) as server:
            yield server
    finally:
        drop_database(url)
