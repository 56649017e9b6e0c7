"""Deployments: one release on one device; desired state in, reported status out.

Every change marks the device (edgedock.notify) so that its long poll wakes up after commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import notify
from edgedock.actors import Actor
from edgedock.applications.models import Application
from edgedock.audit import service as audit_service
from edgedock.db import Base, find_owned, lock_owned, lock_shared, utcnow
from edgedock.deployments.models import ContainerState, Deployment, DeploymentEvent
from edgedock.devices import service as device_service
from edgedock.devices.models import Device
from edgedock.errors import Conflict, Invalid, NotFound
from edgedock.releases import service as release_service
from edgedock.releases.models import Release, ReleaseContainer
from edgedock.wire import DesiredRun


class DeploymentNotFound(NotFound):
    code = "deployment_not_found"


class AlreadyDeployed(Conflict):
    """`existing` holds the deployments in the way, so a page can offer to upgrade them."""

    code = "already_deployed"

    def __init__(
        self, message: str, *, field: str | None = None, existing: list[uuid.UUID] | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.existing = existing or []


async def add_event(
    session: AsyncSession,
    *,
    deployment_id: uuid.UUID,
    kind: str,
    message: str,
    container_id: uuid.UUID | None = None,
    at: datetime | None = None,
) -> DeploymentEvent:
    """``at`` defaults to now; device reports pass the device's own (bounded) event time."""
    event = DeploymentEvent(
        deployment_id=deployment_id,
        kind=kind,
        message=message,
        container_id=container_id,
        at=at or utcnow(),
        count=1,
    )
    session.add(event)
    return event


async def reset_states(
    session: AsyncSession, *, deployment_ids: list[uuid.UUID], release_id: uuid.UUID
) -> None:
    """Every container of `release_id` back to pending on these deployments (an upgrade)."""
    await session.execute(
        sql_delete(ContainerState).where(ContainerState.deployment_id.in_(deployment_ids))
    )
    containers = list(
        await session.scalars(
            select(ReleaseContainer.id).where(ReleaseContainer.release_id == release_id)
        )
    )
    now = utcnow()
    await insert_rows(
        session,
        ContainerState,
        [
            {"deployment_id": d, "container_id": c, "status": "pending", "updated_at": now}
            for d in deployment_ids
            for c in containers
        ],
    )


async def insert_rows(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """One multi-row INSERT, not thousands of ORM objects: a fleet costs one statement."""
    if rows:
        connection = await session.connection()
        await connection.execute(insert(cast(Table, model.__table__)), rows)


async def create(
    session: AsyncSession,
    *,
    actor: Actor,
    release_id: uuid.UUID,
    device_id: uuid.UUID,
    desired: DesiredRun = "started",
) -> Deployment:
    (deployment,) = await create_many(
        session, actor=actor, release_id=release_id, device_ids=[device_id], desired=desired
    )
    return deployment


async def create_many(
    session: AsyncSession,
    *,
    actor: Actor,
    release_id: uuid.UUID,
    device_ids: list[uuid.UUID],
    desired: DesiredRun = "started",
) -> list[Deployment]:
    """Deploy one release to many devices in one transaction: all of them, or none.

    Reads are batched (one query per kind of row whatever the number of devices) so a fleet
    roll-out costs a handful of round trips, not a request per device. The application, the
    release and the devices are locked against deletion (in that order, the order in which
    deletes take them) until the commit; the unique constraint decides between concurrent
    deploys of one application to one device.
    """
    release = await release_service.get(session, tenant_id=actor.tenant_id, release_id=release_id)
    gone = release_service.ReleaseNotFound(f"release {release_id} does not exist")
    if not await lock_shared(session, Application, [release.application_id]):
        raise gone
    if not await lock_shared(session, Release, [release.id]):
        raise gone
    application = await session.get_one(Application, release.application_id)
    wanted = list(dict.fromkeys(device_ids))
    field = "device_id" if len(device_ids) == 1 else "device_ids"
    devices = await lock_devices(session, tenant_id=actor.tenant_id, device_ids=wanted)
    _check_found(wanted, devices, field=field)
    await _check_not_deployed(
        session, application=application, devices=devices, field=field, wanted=wanted
    )
    containers = list(
        await session.scalars(
            select(ReleaseContainer.id).where(ReleaseContainer.release_id == release.id)
        )
    )
    # Inserted in device order: two bulk deploys over the same devices then meet on the same
    # first row, and one waits for the other instead of both deadlocking.
    deployments = [
        Deployment(
            id=uuid.uuid4(),
            tenant_id=actor.tenant_id,
            device_id=d,
            release_id=release.id,
            application_id=application.id,
            desired=desired,
        )
        for d in sorted(wanted)
    ]
    try:
        async with session.begin_nested():
            session.add_all(deployments)
            await session.flush()
    except IntegrityError as exc:
        # A deploy that committed after the check above; the constraint refused this one.
        # (The savepoint's rollback has expunged the rows, so the query does not flush them.)
        await _check_not_deployed(
            session, application=application, devices=devices, field=field, wanted=wanted
        )
        raise AlreadyDeployed(
            f"application {application.name!r} was just deployed on one of these devices",
            field=field,
        ) from exc
    message = f"{application.name} {release.version} deployed by {actor.name} ({desired})"
    # Written as three multi-row INSERTs, not thousands of ORM objects: a roll-out to a fleet
    # costs one statement per kind of row.
    now = utcnow()
    states = [
        {"deployment_id": d.id, "container_id": c, "status": "pending", "updated_at": now}
        for d in deployments
        for c in containers
    ]
    events = [
        {"deployment_id": d.id, "kind": "deployed", "message": message, "at": now}
        for d in deployments
    ]
    await audit_service.record_many(
        session,
        [
            audit_service.values(
                actor=actor,
                action="deployments.created",
                resource_type="deployment",
                resource_id=d.id,
                device_id=d.device_id,
                summary=f"deployed {application.name} {release.version} to device "
                f"{devices[d.device_id].name!r}",
                details={
                    "release_id": str(release.id),
                    "application": application.name,
                    "version": release.version,
                    "device": devices[d.device_id].name,
                },
            )
            for d in deployments
        ],
    )
    await insert_rows(session, ContainerState, states)
    await insert_rows(session, DeploymentEvent, events)
    for deployment in deployments:
        notify.mark(session, deployment.device_id)
    order = {d: i for i, d in enumerate(wanted)}
    return sorted(deployments, key=lambda d: order[d.device_id])


async def keep_release(session: AsyncSession, *, release_id: uuid.UUID) -> bool:
    """Lock the release against deletion until the commit; False when it is already gone."""
    return bool(await lock_shared(session, Release, [release_id]))


async def lock_devices(
    session: AsyncSession, *, tenant_id: uuid.UUID, device_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Device]:
    """The tenant's devices among `device_ids`, locked against deletion as db.lock_shared does
    (one query for the whole fleet: the rows are needed anyway)."""
    stmt = (
        select(Device)
        .where(Device.tenant_id == tenant_id, Device.id.in_(device_ids))
        .order_by(Device.id)
        .with_for_update(read=True, key_share=True)
    )
    return {d.id: d for d in await session.scalars(stmt)}


def _check_found(wanted: list[uuid.UUID], devices: dict[uuid.UUID, Device], *, field: str) -> None:
    missing = [d for d in wanted if d not in devices]
    if missing:
        raise device_service.DeviceNotFound(
            f"device {missing[0]} does not exist"
            + (f" (nor {len(missing) - 1} other(s))" if len(missing) > 1 else ""),
            field=field,
        )


async def _check_not_deployed(
    session: AsyncSession,
    *,
    application: Application,
    devices: dict[uuid.UUID, Device],
    field: str,
    wanted: list[uuid.UUID],
) -> None:
    """A clear 409 naming the device, before the constraint would refuse the insert."""
    existing = (
        await session.execute(
            select(Deployment.device_id, Deployment.id).where(
                Deployment.device_id.in_(wanted), Deployment.application_id == application.id
            )
        )
    ).all()
    if existing:
        device_id, deployment_id = existing[0]
        raise AlreadyDeployed(
            f"application {application.name!r} is already deployed on device "
            f"{devices[device_id].name!r} (deployment {deployment_id})"
            + (f" and {len(existing) - 1} other device(s)" if len(existing) > 1 else "")
            + "; upgrade those deployments instead",
            field=field,
            existing=[d for _, d in existing],
        )


async def find(
    session: AsyncSession, *, tenant_id: uuid.UUID, deployment_id: uuid.UUID
) -> Deployment | None:
    return await find_owned(session, Deployment, tenant_id=tenant_id, row_id=deployment_id)


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, deployment_id: uuid.UUID
) -> Deployment:
    deployment = await find(session, tenant_id=tenant_id, deployment_id=deployment_id)
    if deployment is None:
        raise DeploymentNotFound(f"deployment {deployment_id} does not exist")
    return deployment


async def _get_for_update(
    session: AsyncSession, *, tenant_id: uuid.UUID, deployment_id: uuid.UUID
) -> Deployment:
    """`get`, locked: of concurrent changes (or deletes) each sees the one before it."""
    deployment = await lock_owned(session, Deployment, tenant_id=tenant_id, row_id=deployment_id)
    if deployment is None:
        raise DeploymentNotFound(f"deployment {deployment_id} does not exist")
    return deployment


async def set_desired(
    session: AsyncSession, *, actor: Actor, deployment_id: uuid.UUID, desired: DesiredRun
) -> Deployment:
    deployment = await _get_for_update(
        session, tenant_id=actor.tenant_id, deployment_id=deployment_id
    )
    if deployment.desired != desired:
        deployment.desired = desired
        deployment.updated_at = utcnow()
        verb = "start" if desired == "started" else "stop"
        await add_event(
            session,
            deployment_id=deployment.id,
            kind=f"{verb}_requested",
            message=f"{verb} requested by {actor.name}",
        )
        await audit_service.record(
            session,
            actor=actor,
            action=f"deployments.{verb}",
            resource_type="deployment",
            resource_id=deployment.id,
            device_id=deployment.device_id,
            summary=f"{verb} requested for deployment {deployment.id}",
        )
        notify.mark(session, deployment.device_id)
    await session.flush()
    return deployment


async def upgrade(
    session: AsyncSession, *, actor: Actor, deployment_id: uuid.UUID, release_id: uuid.UUID
) -> Deployment:
    deployment = await _get_for_update(
        session, tenant_id=actor.tenant_id, deployment_id=deployment_id
    )
    current = await session.get_one(Release, deployment.release_id)
    target = await release_service.get(session, tenant_id=actor.tenant_id, release_id=release_id)
    if not await lock_shared(session, Release, [target.id]):
        raise release_service.ReleaseNotFound(
            f"release {release_id} does not exist", field="release_id"
        )
    if target.application_id != deployment.application_id:
        raise Invalid(
            "a deployment can only move to a release of the same application", field="release_id"
        )
    if target.id == current.id:
        raise Conflict(f"the deployment already runs release {current.version}", field="release_id")
    deployment.release_id = target.id
    deployment.updated_at = utcnow()
    await session.flush()
    await reset_states(session, deployment_ids=[deployment.id], release_id=target.id)
    await add_event(
        session,
        deployment_id=deployment.id,
        kind="upgrade_requested",
        message=f"upgrade from {current.version} to {target.version} by {actor.name}",
    )
    await audit_service.record(
        session,
        actor=actor,
        action="deployments.upgraded",
        resource_type="deployment",
        resource_id=deployment.id,
        device_id=deployment.device_id,
        summary=f"upgraded deployment {deployment.id} from {current.version} to {target.version}",
        details={"from_release_id": str(current.id), "to_release_id": str(target.id)},
    )
    notify.mark(session, deployment.device_id)
    return deployment


async def delete(session: AsyncSession, *, actor: Actor, deployment_id: uuid.UUID) -> None:
    deployment = await _get_for_update(
        session, tenant_id=actor.tenant_id, deployment_id=deployment_id
    )
    await session.delete(deployment)
    await session.flush()
    await audit_service.record(
        session,
        actor=actor,
        action="deployments.deleted",
        resource_type="deployment",
        resource_id=deployment.id,
        device_id=deployment.device_id,
        summary=f"deleted deployment {deployment.id}; the device removes its containers",
    )
    notify.mark(session, deployment.device_id)
