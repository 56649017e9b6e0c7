"""A server app on its own database, with no outer transaction: requests really run at once.

The suite's `database` fixture wraps a test in one transaction, so every session shares one
connection and nothing can race. Here each request takes its own connection from a real pool,
as in production; `asyncio.gather` starts the competitors together, and the test then counts
what the database holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from edgedock.config import Settings
from edgedock.crypto import Keyring
from edgedock.db import Database
from edgedock.notify import LocalNotifier
from edgedock.server.app import create_app
from tests.conftest import BACKENDS, create_database, drop_database
from tests.support.races import RaceServer


@pytest.fixture(scope="package", params=BACKENDS)
def race_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    url = create_database(request.param, tmp_path_factory.mktemp(f"races-{request.param}"))
    yield url
    drop_database(url)


@pytest.fixture(scope="package")
async def race_server(
    race_url: str, secret_keys: str, keyring: Keyring, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RaceServer]:
    """Shared by the race tests (each uses its own tenant, so they never meet)."""
    database = Database.connect(race_url)
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("race-data"),  # type: ignore[arg-type]
        database_url=race_url,  # type: ignore[arg-type]
        secret_keys=secret_keys,  # type: ignore[arg-type]
    )
    app = create_app(settings, database=database, keyring=keyring, notifier=LocalNotifier())
    yield RaceServer(app=app, database=database, keyring=keyring)
    await database.dispose()
