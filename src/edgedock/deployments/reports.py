"""What agents report: per-container status, events and what runs, folded into the timeline.

An event that repeats the newest one of its container (same kind, same message: a pull retried
against a registry that keeps refusing) is counted on that row, with its time as `last_at`,
instead of adding a row per retry. The report's deployments are locked for update while it is
folded, so two concurrent reports of one device cannot both read the same newest row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import wire
from edgedock.db import lock_for_update, lock_shared, utcnow
from edgedock.deployments.models import (
    ContainerState,
    Deployment,
    DeploymentEvent,
    RunningContainer,
)
from edgedock.deployments.service import add_event
from edgedock.releases.models import ReleaseContainer

PULL_FAILED = "pull_failed"
PULLED = "pulled"  # the agent's word for a pull that succeeded
# A device's clock is trusted within these bounds; outside them (a clock never set, or set a
# year ahead) the event gets its arrival time instead. Events are kept while the server is
# unreachable, so a genuine `at` can be days old.
_AT_AHEAD = timedelta(days=1)
_AT_BEHIND = timedelta(days=30)


def event_time(at: datetime | None, *, arrived: datetime) -> datetime:
    """The time a reported event is stored under: the device's own, when it is plausible."""
    if at is None or at.tzinfo is None or at.utcoffset() is None:
        return arrived  # a naive time is in no known zone
    if not arrived - _AT_BEHIND <= at <= arrived + _AT_AHEAD:
        return arrived
    return at


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def device_containers(
    session: AsyncSession, *, device_id: uuid.UUID
) -> dict[tuple[uuid.UUID, uuid.UUID], ReleaseContainer]:
    """(deployment id, container id) → container, for the device's current deployments only."""
    rows = (
        await session.execute(
            select(Deployment.id, ReleaseContainer)
            .join(ReleaseContainer, ReleaseContainer.release_id == Deployment.release_id)
            .where(Deployment.device_id == device_id)
        )
    ).all()
    return {(deployment_id, c.id): c for deployment_id, c in rows}


@dataclass(frozen=True, slots=True)
class ReportedPull:
    """A pull the device reported, failed or done, for the caller to audit."""

    deployment_id: uuid.UUID
    container: ReleaseContainer | None
    message: str
    at: datetime


@dataclass
class Applied:
    failures: list[ReportedPull] = field(default_factory=list)
    pulls: list[ReportedPull] = field(default_factory=list)


EventKey = tuple[uuid.UUID, uuid.UUID | None]


async def apply(
    session: AsyncSession, *, device_id: uuid.UUID, report: wire.StatusReport
) -> Applied:
    """Record the report; returns the pulls (failed and done) so the caller can audit them.

    Reports about deployments that are gone (or never were this device's) are ignored: an agent
    may still be tearing down what was just deleted.
    """
    known = await device_containers(session, device_id=device_id)
    # Locked against deletion until the commit: a deployment deleted while its report is being
    # written is either gone before (the report is ignored) or waits for it, never a FK error.
    # A report that adds events takes the stronger lock its folding needs (see the docstring).
    lock = lock_for_update if report.events or report.containers else lock_shared
    deployment_ids = await lock(session, Deployment, {d for d, _ in known})
    known = {key: c for key, c in known.items() if key[0] in deployment_ids}
    now = utcnow()
    timeline = Timeline(session)
    await _apply_states(session, report, known, deployment_ids, timeline, now=now)
    applied = Applied()
    for event in report.events:
        event_deployment = _uuid(event.deployment_id)
        if event_deployment is None or event_deployment not in deployment_ids:
            continue
        event_container = _uuid(event.container_id) if event.container_id else None
        container = known.get((event_deployment, event_container)) if event_container else None
        at = event_time(event.at, arrived=now)
        await timeline.add(
            deployment_id=event_deployment,
            container_id=container.id if container else None,
            kind=event.kind,
            message=event.message,
            at=at,
        )
        pull = ReportedPull(event_deployment, container, event.message, at)
        if event.kind == PULL_FAILED:
            applied.failures.append(pull)
        elif event.kind == PULLED:
            applied.pulls.append(pull)
    if report.running is not None:
        await _replace_running(session, report.running, deployment_ids, now=now)
    await session.flush()
    return applied


async def _apply_states(
    session: AsyncSession,
    report: wire.StatusReport,
    known: dict[tuple[uuid.UUID, uuid.UUID], ReleaseContainer],
    deployment_ids: set[uuid.UUID],
    timeline: Timeline,
    *,
    now: datetime,
) -> None:
    if not report.containers:
        return
    states = {
        (s.deployment_id, s.container_id): s
        for s in await session.scalars(
            select(ContainerState).where(ContainerState.deployment_id.in_(deployment_ids))
        )
    }
    for item in report.containers:
        key = (_uuid(item.deployment_id), _uuid(item.container_id))
        if key not in known:
            continue
        deployment_id, container_id = key
        assert deployment_id is not None and container_id is not None
        state = states.get((deployment_id, container_id))
        if state is None:
            state = ContainerState(
                deployment_id=deployment_id,
                container_id=container_id,
                status=item.status,
                message=item.message,
                updated_at=now,
            )
            session.add(state)
        elif state.status == item.status and state.message == item.message:
            continue
        state.status, state.message, state.updated_at = item.status, item.message, now
        text = f"{known[key].name}: {item.status}" + (f": {item.message}" if item.message else "")
        await timeline.add(
            deployment_id=deployment_id,
            container_id=container_id,
            kind=f"status_{item.status}",
            message=text,
            at=now,
        )


class Timeline:
    """Adds events, counting a repeat of a container's newest event on that event's row."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._newest: dict[EventKey, DeploymentEvent | None] = {}

    async def add(
        self,
        *,
        deployment_id: uuid.UUID,
        container_id: uuid.UUID | None,
        kind: str,
        message: str,
        at: datetime,
    ) -> None:
        key = (deployment_id, container_id)
        if key not in self._newest:
            self._newest[key] = await _newest_event(self._session, key)
        newest = self._newest[key]
        if newest is not None and newest.kind == kind and newest.message == message:
            newest.count += 1
            newest.last_at = max(newest.last_at or newest.at, at)
            return
        self._newest[key] = await add_event(
            self._session,
            deployment_id=deployment_id,
            container_id=container_id,
            kind=kind,
            message=message,
            at=at,
        )


async def _newest_event(session: AsyncSession, key: EventKey) -> DeploymentEvent | None:
    deployment_id, container_id = key
    newest = select(func.max(DeploymentEvent.seq)).where(
        DeploymentEvent.deployment_id == deployment_id,
        DeploymentEvent.container_id.is_(None)
        if container_id is None
        else DeploymentEvent.container_id == container_id,
    )
    stmt = (
        select(DeploymentEvent)
        .where(DeploymentEvent.seq == newest.scalar_subquery())
        # A row another report folded into while this one waited for the lock.
        .execution_options(populate_existing=True)
    )
    return await session.scalar(stmt)


async def _replace_running(
    session: AsyncSession,
    running: list[wire.RunningContainer],
    deployment_ids: set[uuid.UUID],
    *,
    now: datetime,
) -> None:
    """What the engine holds for the device's deployments, replacing the last report's list."""
    if not deployment_ids:
        return
    await session.execute(
        delete(RunningContainer).where(RunningContainer.deployment_id.in_(deployment_ids))
    )
    rows: dict[tuple[uuid.UUID, str], dict[str, object]] = {}
    for item in running:
        deployment_id = _uuid(item.deployment_id)
        if deployment_id is None or deployment_id not in deployment_ids:
            continue
        rows[(deployment_id, item.name)] = {
            "deployment_id": deployment_id,
            "name": item.name,
            "container_id": _uuid(item.container_id),
            "image": item.image,
            "release_id": _uuid(item.release_id) if item.release_id else None,
            "version": item.version,
            "state": item.state,
            "reported_at": now,
        }
    if rows:
        await session.execute(insert(RunningContainer), list(rows.values()))
