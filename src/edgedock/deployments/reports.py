"""What agents report: per-container status and events, folded into the timeline."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import wire
from edgedock.db import lock_shared, utcnow
from edgedock.deployments.models import ContainerState, Deployment
from edgedock.deployments.service import add_event
from edgedock.releases.models import ReleaseContainer

PULL_FAILED = "pull_failed"
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


async def apply(
    session: AsyncSession, *, device_id: uuid.UUID, report: wire.StatusReport
) -> list[tuple[wire.StatusEvent, ReleaseContainer | None]]:
    """Record the report; returns the pull failures so the caller can audit them.

    Reports about deployments that are gone (or never were this device's) are ignored: an agent
    may still be tearing down what was just deleted.
    """
    known = await device_containers(session, device_id=device_id)
    # Locked against deletion until the commit: a deployment deleted while its report is being
    # written is either gone before (the report is ignored) or waits for it, never a FK error.
    deployment_ids = await lock_shared(session, Deployment, {d for d, _ in known})
    known = {key: c for key, c in known.items() if key[0] in deployment_ids}
    states = {
        (s.deployment_id, s.container_id): s
        for s in await session.scalars(
            select(ContainerState).where(ContainerState.deployment_id.in_(deployment_ids))
        )
    }
    now = utcnow()
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
        await add_event(
            session,
            deployment_id=deployment_id,
            container_id=container_id,
            kind=f"status_{item.status}",
            message=text,
        )
    failures: list[tuple[wire.StatusEvent, ReleaseContainer | None]] = []
    for event in report.events:
        event_deployment = _uuid(event.deployment_id)
        if event_deployment is None or event_deployment not in deployment_ids:
            continue
        event_container = _uuid(event.container_id) if event.container_id else None
        container = known.get((event_deployment, event_container)) if event_container else None
        await add_event(
            session,
            deployment_id=event_deployment,
            container_id=container.id if container else None,
            kind=event.kind,
            message=event.message,
            at=event_time(event.at, arrived=now),
        )
        if event.kind == PULL_FAILED:
            failures.append((event, container))
    await session.flush()
    return failures
