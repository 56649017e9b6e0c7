"""When image credentials expire: their state now, the SQL that selects a state, and the audit
of each state when it is first crossed.

An expiry passes by time, not by a change anyone makes, so nothing else would ever write it to
the audit trail. A sweep on a timer (`ExpirySweeper`, one per server replica) and the registry
auth that refuses expired credentials both call `record_crossings`: a conditional UPDATE moves
`expiry_state_recorded` forward and returns the rows it moved, and only those get an event, in
the same transaction. Two replicas sweeping at once cannot both move a row (on PostgreSQL the
second UPDATE waits for the first's row lock, then finds the state already recorded), so each
state is audited exactly once per credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Table, and_, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.actors import Actor
from edgedock.audit import service as audit_service
from edgedock.credentials.models import ImageCredential
from edgedock.credentials.schemas import EXPIRY_WARNING_DAYS, ExpiryState
from edgedock.db import Database, utcnow

log = logging.getLogger(__name__)

DEFAULT_WARNING = timedelta(days=EXPIRY_WARNING_DAYS)
SWEEP_ACTOR = "system:expiry"
# The states audited, and which recorded states each one moves on from.
_MOVES_FROM: dict[ExpiryState, tuple[str, ...]] = {"expiring": (), "expired": ("expiring",)}

_table = cast(Table, ImageCredential.__table__)


def state_of(
    expires_at: datetime | None, *, warning: timedelta, now: datetime | None = None
) -> ExpiryState | None:
    if expires_at is None:
        return None
    now = now or utcnow()
    if expires_at <= now:
        return "expired"
    if expires_at - now <= warning:
        return "expiring"
    return "valid"


def condition(state: ExpiryState, *, warning: timedelta, now: datetime) -> ColumnElement[bool]:
    """Rows in `state` at `now`, as SQL; `valid` includes credentials with no known expiry."""
    column = _table.c.expires_at
    if state == "expired":
        return column <= now
    if state == "expiring":
        return and_(column > now, column <= now + warning)
    return or_(column.is_(None), column > now + warning)


async def record_crossings(
    session: AsyncSession,
    *,
    warning: timedelta,
    now: datetime | None = None,
    credential_ids: Collection[uuid.UUID] | None = None,
) -> int:
    """Audit every credentials (or those of `credential_ids`) whose state moved on since it was
    last recorded; returns how many events were written. Idempotent and race-safe."""
    now = now or utcnow()
    written = 0
    for state, before in _MOVES_FROM.items():
        recorded = _table.c.expiry_state_recorded
        stmt = (
            update(_table)
            .where(
                condition(state, warning=warning, now=now),
                or_(recorded.is_(None), recorded.in_(before)) if before else recorded.is_(None),
            )
            .values(expiry_state_recorded=state)
            .returning(
                _table.c.id,
                _table.c.tenant_id,
                _table.c.label,
                _table.c.expires_at,
                _table.c.expires_at_source,
            )
        )
        if credential_ids is not None:
            stmt = stmt.where(_table.c.id.in_(list(credential_ids)))
        connection = await session.connection()
        for row in (await connection.execute(stmt)).all():
            await _audit(session, state=state, row=row)
            written += 1
    return written


async def _audit(session: AsyncSession, *, state: ExpiryState, row: Row[Any]) -> None:
    credential_id: uuid.UUID = row.id
    label: str = row.label
    expires_at: datetime = row.expires_at
    when = f"{expires_at:%Y-%m-%d %H:%M} UTC"
    summary = (
        f"image credentials {label!r} expired on {when}; devices are refused them: create new "
        "credentials and replace these in the releases that use them"
        if state == "expired"
        else f"image credentials {label!r} expire on {when}: create new credentials and "
        "replace these before then"
    )
    await audit_service.record(
        session,
        actor=Actor(tenant_id=row.tenant_id, name=SWEEP_ACTOR),
        action=f"credentials.{state}",
        resource_type="image_credentials",
        resource_id=credential_id,
        credentials_id=credential_id,
        summary=summary,
        details={
            "label": label,
            "expires_at": expires_at.isoformat(),
            "expires_at_source": row.expires_at_source,
        },
        flush=False,
    )


class ExpirySweeper:
    """Runs `record_crossings` every `interval` seconds while the server runs (best effort: a
    failed sweep logs once and waits for the next round, as the seen writer does)."""

    def __init__(self, database: Database, *, warning: timedelta, interval: float) -> None:
        self.database, self.warning, self.interval = database, warning, interval
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self.rounds = 0  # sweeps tried since start
        self._round_done = asyncio.Event()

    async def wait_round(self) -> None:
        """Until the round under way (or the next one) has finished, successfully or not."""
        await self._round_done.wait()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            self._round_done.clear()
            await self.sweep_best_effort()
            self.rounds += 1
            self._round_done.set()
            await asyncio.sleep(self.interval)

    async def sweep(self) -> int:
        async with self.database.transaction() as session:
            written = await record_crossings(session, warning=self.warning)
            await session.flush()
            return written

    async def sweep_best_effort(self) -> None:
        try:
            written = await self.sweep()
        except Exception as exc:  # the server goes on; the next round tries again
            if not self._failing:
                log.warning("could not record credentials expiry in the audit trail: %s", exc)
            self._failing = True
            return
        if self._failing:
            log.info("recording credentials expiry in the audit trail again")
        self._failing = False
        if written:
            log.info("recorded %d credentials expiry event(s) in the audit trail", written)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
