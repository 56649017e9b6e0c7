"""The schema comes from the migrations, and the models agree with them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from edgedock.db import Base
from edgedock.migrations import load_models


async def test_models_and_migrations_agree(engine):
    load_models()

    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == [], f"models differ from the migrations: {differences}"


async def test_migrations_reach_a_single_head():
    from alembic.script import ScriptDirectory

    from edgedock.migrations import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
