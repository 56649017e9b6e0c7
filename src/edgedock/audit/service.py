"""Writing and searching the audit trail. Append only, with one exception: repeats.

A device retrying a refused pull reports the same failure every few seconds; it is recorded
once, and each repeat adds to that record's `count` and `last_at` (`record_repeated`), until
the failure is over (`end_repeats`). Nothing is ever deleted, and registry auths, the
password's only way out, are always recorded one by one.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.actors import Actor
from edgedock.audit.models import AuditEvent
from edgedock.audit.schemas import AuditEventRead, AuditFilter
from edgedock.db import utcnow
from edgedock.pagination import Keyset, Page, SortKey
from edgedock.text import scrub

ORDER = Keyset("audit_events", (SortKey(AuditEvent.seq, "int"),), descending=True)

# The sizes of the audit_event columns (audit/models.py).
MAX_ACTOR = 140
MAX_ACTION = 60
MAX_RESOURCE_TYPE = 40
MAX_RESOURCE_ID = 64
MAX_SUMMARY = 500
# Bounds for `details`, a JSON column: each string, each list, each object, and the nesting.
MAX_DETAIL_TEXT = 1000
MAX_DETAIL_ITEMS = 100
MAX_DETAIL_DEPTH = 4


async def record(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: uuid.UUID | str | None,
    summary: str,
    credentials_id: uuid.UUID | None = None,
    device_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
    flush: bool = True,
) -> AuditEvent:
    """Append one event in the caller's transaction, so it exists exactly when the change does.

    Summaries and details are built from user input (labels, image names, device messages,
    `!r` escapes that grow them): they are cut to their columns here, by design, so that an
    audit record is never the reason the operation it records fails. Callers writing many
    events at once pass flush=False and flush once themselves.
    """
    event = AuditEvent(
        **values(
            actor=actor,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            summary=summary,
            credentials_id=credentials_id,
            device_id=device_id,
            details=details,
        )
    )
    session.add(event)
    if flush:
        await session.flush()
    return event


async def record_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Append many events (each built by `values`) in one multi-row INSERT, in the caller's
    transaction: a roll-out to thousands of devices writes its audit trail in one statement."""
    if rows:
        connection = await session.connection()
        await connection.execute(insert(cast(Table, AuditEvent.__table__)), rows)


async def record_repeated(session: AsyncSession, row: dict[str, Any], *, key: str) -> None:
    """Append `row` (built by `values`), or count it on the open record with the same `key`.

    One upsert on the (tenant, collapse key) constraint: concurrent repeats on PostgreSQL each
    add one to the count, and never make a second record.
    """
    dialect = session.get_bind().dialect.name
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(Table, AuditEvent.__table__)
    stmt = build(table).values(**row, collapse_key=key, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.tenant_id, table.c.collapse_key],
        set_={"count": table.c.count + 1, "last_at": stmt.excluded.at},
    )
    await session.execute(stmt)


async def end_repeats(
    session: AsyncSession, *, tenant_id: uuid.UUID, resource_id: str, key_prefix: str
) -> None:
    """Close the open records of `resource_id` whose key starts so: the next repeat is new."""
    await session.execute(
        update(AuditEvent)
        .where(
            AuditEvent.tenant_id == tenant_id,
            AuditEvent.resource_id == resource_id,
            AuditEvent.collapse_key.startswith(key_prefix, autoescape=True),
        )
        .values(collapse_key=None)
    )


def values(
    *,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: uuid.UUID | str | None,
    summary: str,
    credentials_id: uuid.UUID | None = None,
    device_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The column values of one event: the one place an event is put together."""
    return {
        "tenant_id": actor.tenant_id,
        "at": utcnow(),
        "actor": scrub(actor.name, MAX_ACTOR),
        "action": scrub(action, MAX_ACTION),
        "resource_type": scrub(resource_type, MAX_RESOURCE_TYPE),
        "resource_id": scrub(str(resource_id), MAX_RESOURCE_ID)
        if resource_id is not None
        else None,
        "summary": scrub(summary, MAX_SUMMARY),
        "credentials_id": credentials_id,
        "device_id": device_id,
        "details": _bounded(details or {}, depth=0),
    }


def _bounded(value: Any, *, depth: int) -> Any:
    """`value` with every string, list and object cut to the bounds above; None past the depth."""
    if isinstance(value, str):
        return scrub(value, MAX_DETAIL_TEXT)
    if depth >= MAX_DETAIL_DEPTH:
        return None
    if isinstance(value, dict):
        items = list(value.items())[:MAX_DETAIL_ITEMS]
        return {scrub(str(k), 100): _bounded(v, depth=depth + 1) for k, v in items}
    if isinstance(value, list | tuple):
        return [_bounded(v, depth=depth + 1) for v in value[:MAX_DETAIL_ITEMS]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value), MAX_DETAIL_TEXT)


def to_read(event: AuditEvent) -> AuditEventRead:
    return AuditEventRead(
        id=event.seq,
        at=event.at,
        actor=event.actor,
        action=event.action,
        resource_type=event.resource_type,
        resource_id=event.resource_id,
        credentials_id=event.credentials_id,
        device_id=event.device_id,
        summary=event.summary,
        details=event.details,
        count=event.count,
        last_at=event.last_at,
    )


async def search(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    filters: AuditFilter,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[AuditEventRead]:
    """Newest first."""
    stmt = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if filters.credentials_id:
        stmt = stmt.where(AuditEvent.credentials_id == filters.credentials_id)
    if filters.device_id:
        stmt = stmt.where(AuditEvent.device_id == filters.device_id)
    if filters.resource_type:
        stmt = stmt.where(AuditEvent.resource_type == filters.resource_type)
    if filters.resource_id:
        stmt = stmt.where(AuditEvent.resource_id == filters.resource_id)
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.since:
        stmt = stmt.where(AuditEvent.at >= filters.since)
    if filters.until:
        stmt = stmt.where(AuditEvent.at < filters.until)
    stmt = ORDER.apply(stmt, cursor=cursor, limit=limit)
    rows, next_cursor = ORDER.split((await session.scalars(stmt)).all(), limit=limit)
    return Page[AuditEventRead](items=[to_read(e) for e in rows], next_cursor=next_cursor)
