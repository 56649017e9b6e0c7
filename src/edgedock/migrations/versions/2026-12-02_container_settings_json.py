"""A container's runtime settings as one JSON document (`container_spec.ContainerSettings`).

The seven columns (env, command, port_bindings, restart_policy, binds, network_mode,
privileged) become `release_container.settings`. Values are moved as they are, not
normalised: the agent hashes them, and a changed spelling would recreate running containers.
The move runs in Python, not in SQL, because SQLite and PostgreSQL build JSON differently;
release containers are few (a release holds at most 50), so the rows fit in memory.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each column with the value a NULL stands for; command and network_mode keep NULL (the image's
# own command, the engine's default network).
_COLUMNS: list[tuple[sa.Column[Any], Any]] = [
    (sa.Column("env", sa.JSON(), nullable=False), {}),
    (sa.Column("command", sa.JSON(), nullable=True), None),
    (sa.Column("port_bindings", sa.JSON(), nullable=False), []),
    (sa.Column("restart_policy", sa.String(length=20), nullable=False), "no"),
    (sa.Column("binds", sa.JSON(), nullable=False), []),
    (sa.Column("network_mode", sa.String(length=100), nullable=True), None),
    (sa.Column("privileged", sa.Boolean(), nullable=False), False),
]
_NAMES = [column.name for column, _ in _COLUMNS]
_BATCH = 500


def _table() -> sa.TableClause:
    return sa.table(
        "release_container",
        sa.column("id", sa.Uuid()),
        sa.column("settings", sa.JSON()),
        *(sa.column(column.name, column.type) for column, _ in _COLUMNS),
    )


def _write(values: list[dict[str, Any]], **columns: Any) -> None:
    t = _table()
    statement = t.update().where(t.c.id == sa.bindparam("row_id")).values(**columns)
    for start in range(0, len(values), _BATCH):
        op.get_bind().execute(statement, values[start : start + _BATCH])


def upgrade() -> None:
    with op.batch_alter_table("release_container", schema=None) as batch_op:
        batch_op.add_column(sa.Column("settings", sa.JSON(), nullable=True))
    t = _table()
    rows = op.get_bind().execute(sa.select(t.c.id, *(t.c[n] for n in _NAMES))).all()
    values = []
    for row in rows:
        settings = {
            column.name: default if row._mapping[column.name] is None else row._mapping[column.name]
            for column, default in _COLUMNS
        }
        values.append({"row_id": row.id, "row_settings": settings})
    _write(values, settings=sa.bindparam("row_settings"))
    with op.batch_alter_table("release_container", schema=None) as batch_op:
        batch_op.alter_column("settings", existing_type=sa.JSON(), nullable=False)
        for name in _NAMES:
            batch_op.drop_column(name)


def downgrade() -> None:
    with op.batch_alter_table("release_container", schema=None) as batch_op:
        for column, _ in _COLUMNS:
            batch_op.add_column(sa.Column(column.name, column.type, nullable=True))
    t = _table()
    rows = op.get_bind().execute(sa.select(t.c.id, t.c.settings)).all()
    values = []
    for row in rows:
        stored = row.settings or {}
        values.append(
            {"row_id": row.id}
            | {f"row_{column.name}": stored.get(column.name, d) for column, d in _COLUMNS}
        )
    _write(values, **{name: sa.bindparam(f"row_{name}") for name in _NAMES})
    with op.batch_alter_table("release_container", schema=None) as batch_op:
        for column, _ in _COLUMNS:
            if not column.nullable:
                batch_op.alter_column(column.name, existing_type=column.type, nullable=False)
        batch_op.drop_column("settings")
