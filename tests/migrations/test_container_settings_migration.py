"""Migration 0008 moves a container's seven settings columns into one document, and back."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from edgedock.db import UTCDateTime, make_engine
from edgedock.migrations import alembic_config
from tests.conftest import BACKENDS, PG_ADMIN_URL, drop_database

REVISION = "0008"
FULL = {
    "env": {"A": "1", "CERT": "line1\nline2"},
    "command": ["sh", "-c", "true"],
    "port_bindings": ["8080:80/tcp", "53:53/udp"],  # not normalised: moved as stored
    "restart_policy": "always",
    "binds": ["/srv:/data:rw"],
    "network_mode": "backend",
    "privileged": True,
}
BARE = {
    "env": {},
    "command": None,
    "port_bindings": [],
    "restart_policy": "no",
    "binds": [],
    "network_mode": None,
    "privileged": False,
}


def _empty_database(backend: str, folder: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'migrate.db'}"
    import asyncpg

    name = f"edgedock_test_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def _run(url: str, statements: list[Any]) -> list[Any]:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            results = [await conn.execute(s) for s in statements]
            return [r.all() if r.returns_rows else None for r in results]
    finally:
        await engine.dispose()


def _table(table: str, /, **columns: Any) -> sa.TableClause:
    return sa.table(table, *(sa.column(key, kind) for key, kind in columns.items()))


def _seed(url: str) -> dict[str, uuid.UUID]:
    """A tenant, an application, a release and two containers, as the old schema holds them."""
    now, text, uid = datetime.now(UTC), sa.String(), sa.Uuid()
    at = UTCDateTime(timezone=True)
    tenant, application, release = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ids = {"full": uuid.uuid4(), "bare": uuid.uuid4()}
    t = _table(
        "tenant",
        id=uid,
        slug=text,
        fingerprint_key_id=text,
        fingerprint_key=sa.LargeBinary(),
        created_at=at,
    )
    a = _table(
        "application",
        id=uid,
        tenant_id=uid,
        name=text,
        name_key=text,
        description=text,
        created_at=at,
    )
    r = _table(
        "release",
        id=uid,
        tenant_id=uid,
        application_id=uid,
        version=text,
        created_by=text,
        created_at=at,
    )
    c = _container_table(
        release_id=uid,
        position=sa.Integer(),
        name=text,
        image=text,
        image_canonical=text,
        image_domain=text,
    )
    statements = [
        t.insert().values(
            id=tenant, slug="acme", fingerprint_key_id="k1", fingerprint_key=b"k", created_at=now
        ),
        a.insert().values(
            id=application,
            tenant_id=tenant,
            name="app",
            name_key="app",
            description="",
            created_at=now,
        ),
        r.insert().values(
            id=release,
            tenant_id=tenant,
            application_id=application,
            version="1.0.0",
            created_by="ops",
            created_at=now,
        ),
    ]
    for position, (key, settings) in enumerate((("full", FULL), ("bare", BARE))):
        statements.append(
            c.insert().values(
                id=ids[key],
                release_id=release,
                position=position,
                name=key,
                image="nginx",
                image_canonical="docker.io/library/nginx:latest",
                image_domain="docker.io",
                **settings,
            )
        )
    asyncio.run(_run(url, statements))
    return ids


def _container_table(**columns: Any) -> sa.TableClause:
    """release_container with the settings columns of both sides of the migration, typed."""
    return _table(
        "release_container",
        id=sa.Uuid(),
        settings=sa.JSON(),
        env=sa.JSON(),
        command=sa.JSON(),
        port_bindings=sa.JSON(),
        restart_policy=sa.String(),
        binds=sa.JSON(),
        network_mode=sa.String(),
        privileged=sa.Boolean(),
        **columns,
    )


def _rows(url: str, *columns: str) -> dict[uuid.UUID, dict[str, Any]]:
    table = _container_table()
    (result,) = asyncio.run(_run(url, [sa.select(table.c.id, *(table.c[c] for c in columns))]))
    return {row.id: {c: row._mapping[c] for c in columns} for row in result}


@pytest.mark.parametrize("backend", BACKENDS)
def test_settings_move_into_one_document_and_back(backend: str, tmp_path: Path) -> None:
    url = _empty_database(backend, tmp_path)
    config = alembic_config(url)
    before = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
    assert isinstance(before, str)
    try:
        command.upgrade(config, before)
        ids = _seed(url)

        command.upgrade(config, REVISION)
        after = _rows(url, "settings")
        assert after == {ids["full"]: {"settings": FULL}, ids["bare"]: {"settings": BARE}}

        command.downgrade(config, before)
        back = _rows(url, *FULL)
        assert back == {ids["full"]: FULL, ids["bare"]: BARE}
    finally:
        drop_database(url)
