"""Migration 0004: deployments get their application, duplicates go, nothing else is lost."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from edgedock.db import UTCDateTime, make_engine
from edgedock.migrations import upgrade
from tests.conftest import BACKENDS, PG_ADMIN_URL, _pg_admin

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _table(name: str, *columns: tuple[str, sa.types.TypeEngine[object]]) -> sa.TableClause:
    return sa.table(name, *(sa.column(c, t) for c, t in columns))


UUID, TEXT, TIME = sa.Uuid(), sa.String(), UTCDateTime()
TABLES = {
    "tenant": _table(
        "tenant",
        ("id", UUID),
        ("slug", TEXT),
        ("fingerprint_key_id", TEXT),
        ("fingerprint_key", sa.LargeBinary()),
        ("created_at", TIME),
    ),
    "application": _table(
        "application",
        ("id", UUID),
        ("tenant_id", UUID),
        ("name", TEXT),
        ("name_key", TEXT),
        ("description", TEXT),
        ("created_at", TIME),
    ),
    "release": _table(
        "release",
        ("id", UUID),
        ("tenant_id", UUID),
        ("application_id", UUID),
        ("version", TEXT),
        ("created_by", TEXT),
        ("created_at", TIME),
    ),
    "device": _table(
        "device",
        ("id", UUID),
        ("tenant_id", UUID),
        ("name", TEXT),
        ("name_key", TEXT),
        ("token_hash", TEXT),
        ("created_at", TIME),
    ),
    "deployment": _table(
        "deployment",
        ("id", UUID),
        ("tenant_id", UUID),
        ("device_id", UUID),
        ("release_id", UUID),
        ("desired", TEXT),
        ("updated_at", TIME),
        ("created_at", TIME),
    ),
    "container_state": _table(
        "container_state",
        ("deployment_id", UUID),
        ("container_id", UUID),
        ("status", TEXT),
        ("updated_at", TIME),
    ),
    "deployment_event": _table(
        "deployment_event", ("deployment_id", UUID), ("at", TIME), ("kind", TEXT), ("message", TEXT)
    ),
}


@pytest.fixture(params=BACKENDS)
async def old_database(request, tmp_path):
    """A database at revision 0002, before deployments knew their application."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        name = f"edgedock_test_{uuid.uuid4().hex[:12]}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url, "0002")
    yield url
    if request.param != "sqlite":
        await _pg_admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


async def test_upgrade_backfills_application_and_keeps_the_oldest_of_duplicates(old_database):
    tenant, shop, blog = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    shop_1, shop_2, blog_1 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    gw1, gw2 = uuid.uuid4(), uuid.uuid4()
    oldest, copy_a, copy_b, blog_on_gw1, shop_on_gw2 = (uuid.uuid4() for _ in range(5))
    rows = {
        "tenant": [dict(id=tenant, slug="acme", fingerprint_key_id="k1", fingerprint_key=b"x")],
        "application": [
            dict(id=a, tenant_id=tenant, name=n, name_key=n, description="")
            for a, n in [(shop, "shop"), (blog, "blog")]
        ],
        "release": [
            dict(id=r, tenant_id=tenant, application_id=a, version=v, created_by="t")
            for r, a, v in [(shop_1, shop, "1.0.0"), (shop_2, shop, "2.0.0"), (blog_1, blog, "1")]
        ],
        "device": [
            dict(id=d, tenant_id=tenant, name=n, name_key=n, token_hash=n)
            for d, n in [(gw1, "gw1"), (gw2, "gw2")]
        ],
        # Three copies of shop on gw1 (two releases), made one minute apart: the oldest stays.
        "deployment": [
            dict(id=i, tenant_id=tenant, device_id=d, release_id=r, desired="started", at=at)
            for i, d, r, at in [
                (copy_a, gw1, shop_2, T0 + timedelta(minutes=1)),
                (oldest, gw1, shop_1, T0),
                (copy_b, gw1, shop_1, T0 + timedelta(minutes=2)),
                (blog_on_gw1, gw1, blog_1, T0 + timedelta(minutes=3)),
                (shop_on_gw2, gw2, shop_2, T0 + timedelta(minutes=4)),
            ]
        ],
    }
    for row in rows["deployment"]:
        row["created_at"] = row["updated_at"] = row.pop("at")
    deployment_ids = [r["id"] for r in rows["deployment"]]
    rows["container_state"] = [
        dict(deployment_id=d, container_id=uuid.uuid4(), status="running", updated_at=T0)
        for d in deployment_ids
    ]
    rows["deployment_event"] = [
        dict(deployment_id=d, at=T0, kind="deployed", message="m") for d in deployment_ids
    ]
    for table in ("tenant", "application", "release", "device"):
        for row in rows[table]:
            row.setdefault("created_at", T0)

    engine = make_engine(old_database)
    try:
        async with engine.begin() as conn:
            for name, values in rows.items():
                await conn.execute(sa.insert(TABLES[name]), values)
        await engine.dispose()
        upgrade(old_database)
        async with engine.connect() as conn:
            kept = (await conn.execute(sa.text("SELECT id, application_id FROM deployment"))).all()
            states = (
                await conn.execute(sa.text("SELECT deployment_id FROM container_state"))
            ).all()
            events = (
                await conn.execute(sa.text("SELECT deployment_id FROM deployment_event"))
            ).all()
    finally:
        await engine.dispose()

    def ids(result) -> set[uuid.UUID]:
        return {uuid.UUID(str(r[0])) for r in result}

    survivors = {oldest, blog_on_gw1, shop_on_gw2}
    assert ids(kept) == survivors
    assert {uuid.UUID(str(i)): uuid.UUID(str(a)) for i, a in kept} == {
        oldest: shop,
        blog_on_gw1: blog,
        shop_on_gw2: shop,
    }
    # The rebuild of the table (SQLite) kept the status rows and timelines of the survivors.
    assert ids(states) == survivors and len(states) == 3
    assert ids(events) == survivors and len(events) == 3
