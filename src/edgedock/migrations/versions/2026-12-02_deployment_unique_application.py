"""One deployment per application and device: `deployment.application_id` and a unique constraint.

The column is backfilled from each deployment's release. Databases written before the constraint
may hold several deployments of one application on one device (concurrent deploys all passed
the old check): the oldest is kept, the later copies are deleted with their status rows and
timelines, and the count is logged. The device then removes the extra containers, which were
fighting the kept one for its host ports anyway.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 03:55:00.000000
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

# Tables whose rows cascade from a deployment: SQLite's table rebuild must keep them.
_CHILDREN = ("container_state", "deployment_event")


def upgrade() -> None:
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("application_id", sa.Uuid(), nullable=True))
    op.execute(
        "UPDATE deployment SET application_id = "
        "(SELECT release.application_id FROM release WHERE release.id = deployment.release_id)"
    )
    _delete_duplicates()
    with _children_kept(), op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.alter_column("application_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.create_index(
            batch_op.f("ix_deployment_application_id"), ["application_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_deployment_application_id_application"),
            "application",
            ["application_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_deployment_device_id_application_id"), ["device_id", "application_id"]
        )


def downgrade() -> None:
    with _children_kept(), op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_deployment_device_id_application_id"), type_="unique"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_deployment_application_id_application"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_deployment_application_id"))
        batch_op.drop_column("application_id")


def _delete_duplicates() -> None:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT id, device_id, application_id FROM deployment "
            "ORDER BY device_id, application_id, created_at, id"
        )
    )
    seen: set[tuple[object, object]] = set()
    extra: list[object] = []
    for row_id, device_id, application_id in rows:
        key = (device_id, application_id)
        if key in seen:
            extra.append(row_id)
        seen.add(key)
    if not extra:
        return
    log.warning(
        "deleting %d duplicate deployment(s): the same application twice on one device",
        len(extra),
    )
    for table in (*_CHILDREN, "deployment"):
        column = "id" if table == "deployment" else "deployment_id"
        statement = sa.text(f"DELETE FROM {table} WHERE {column} IN :ids")  # noqa: S608
        op.get_bind().execute(
            statement.bindparams(sa.bindparam("ids", expanding=True)), {"ids": extra}
        )


@contextlib.contextmanager
def _children_kept() -> Iterator[None]:
    """SQLite rebuilds the table to change it, and with foreign keys on (edgedock turns them on
    for every connection, and SQLite ignores turning them off inside a transaction) dropping the
    old table cascades to every status row and timeline event. Copy them aside and put them back.
    PostgreSQL alters the table in place.
    """
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    for table in _CHILDREN:
        op.execute(f"CREATE TEMP TABLE kept_{table} AS SELECT * FROM {table}")  # noqa: S608
    yield
    for table in _CHILDREN:
        op.execute(f"DELETE FROM {table}")  # noqa: S608
        op.execute(f"INSERT INTO {table} SELECT * FROM kept_{table}")  # noqa: S608
        op.execute(f"DROP TABLE kept_{table}")
