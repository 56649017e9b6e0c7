"""Fleet actions on deployments: deploy a release to many devices where it can go, and move
every deployment of one release to another. The writes are the service's; this module only
decides which rows they touch and says why the others were left alone."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import notify
from edgedock.actors import Actor
from edgedock.audit import service as audit_service
from edgedock.db import utcnow
from edgedock.deployments import service as deployment_service
from edgedock.deployments.models import Deployment, DeploymentEvent
from edgedock.deployments.schemas import DeviceDeployOutcome
from edgedock.errors import Invalid
from edgedock.read import fleet_actions
from edgedock.releases import service as release_service
from edgedock.wire import DesiredRun


async def deploy_where_possible(
    session: AsyncSession,
    *,
    actor: Actor,
    release_id: uuid.UUID,
    device_ids: list[uuid.UUID],
    desired: DesiredRun = "started",
) -> list[DeviceDeployOutcome]:
    """`create_many` on the devices that can take the release; the others say why not.

    What a person picking devices in a list wants: one device already running this release,
    or another release of its application, should not hold back the rest. A deploy that
    commits in between still makes `create_many` refuse the whole batch (AlreadyDeployed).
    """
    release = await release_service.get(session, tenant_id=actor.tenant_id, release_id=release_id)
    wanted = list(dict.fromkeys(device_ids))
    devices = await deployment_service.lock_devices(
        session, tenant_id=actor.tenant_id, device_ids=wanted
    )
    existing = await fleet_actions.running(
        session, application_id=release.application_id, device_ids=wanted
    )
    todo = [d for d in wanted if d in devices and d not in existing]
    created = (
        await deployment_service.create_many(
            session, actor=actor, release_id=release.id, device_ids=todo, desired=desired
        )
        if todo
        else []
    )
    made = {d.device_id: d.id for d in created}
    names = {d: device.name for d, device in devices.items()}
    return [_outcome(d, names.get(d), made, existing, release.id) for d in wanted]


def _outcome(
    device_id: uuid.UUID,
    name: str | None,
    made: dict[uuid.UUID, uuid.UUID],
    existing: dict[uuid.UUID, fleet_actions.Running],
    release_id: uuid.UUID,
) -> DeviceDeployOutcome:
    if device_id in made:
        return DeviceDeployOutcome(
            device_id=device_id, device=name, outcome="created", deployment_id=made[device_id]
        )
    if name is None:
        return DeviceDeployOutcome(
            device_id=device_id, device=None, outcome="refused", reason="no such device"
        )
    running = existing[device_id]
    if running.release_id == release_id:
        return DeviceDeployOutcome(
            device_id=device_id,
            device=name,
            outcome="already_deployed",
            deployment_id=running.deployment_id,
        )
    return DeviceDeployOutcome(
        device_id=device_id,
        device=name,
        outcome="refused",
        deployment_id=running.deployment_id,
        runs_version=running.version,
        reason=f"runs {running.version}: upgrade that deployment instead",
    )


async def upgrade_many(
    session: AsyncSession,
    *,
    actor: Actor,
    from_release_id: uuid.UUID,
    to_release_id: uuid.UUID,
    device_ids: list[uuid.UUID] | None = None,
) -> list[Deployment]:
    """Move every deployment of one release (on `device_ids`, when given) to another release
    of its application, in one transaction, audited per deployment.

    The deployments are locked for update in id order, as `upgrade` locks one: a concurrent
    upgrade, stop or delete of one of them waits for this one or is waited for. On PostgreSQL
    a row that changed while this waited for it is checked again, so a deployment deleted or
    moved to another release meanwhile is left out rather than upgraded from a stale read.
    """
    tenant_id = actor.tenant_id
    try:
        source = await release_service.get(session, tenant_id=tenant_id, release_id=from_release_id)
    except release_service.ReleaseNotFound as exc:
        raise release_service.ReleaseNotFound(exc.message, field="from_release") from None
    try:
        target = await release_service.get(session, tenant_id=tenant_id, release_id=to_release_id)
    except release_service.ReleaseNotFound as exc:
        raise release_service.ReleaseNotFound(exc.message, field="to_release") from None
    if target.application_id != source.application_id:
        raise Invalid(
            "deployments can only move to a release of the same application", field="to_release"
        )
    if target.id == source.id:
        raise Invalid("from_release and to_release are the same release", field="to_release")
    if not await deployment_service.keep_release(session, release_id=target.id):
        raise release_service.ReleaseNotFound(
            f"release {to_release_id} does not exist", field="to_release"
        )
    stmt = select(Deployment).where(
        Deployment.tenant_id == tenant_id, Deployment.release_id == source.id
    )
    if device_ids is not None:
        stmt = stmt.where(Deployment.device_id.in_(list(dict.fromkeys(device_ids))))
    deployments = list(
        await session.scalars(
            stmt.order_by(Deployment.id).with_for_update().execution_options(populate_existing=True)
        )
    )
    if not deployments:
        return []
    now = utcnow()
    for deployment in deployments:
        deployment.release_id = target.id
        deployment.updated_at = now
    await session.flush()
    ids = [d.id for d in deployments]
    await deployment_service.reset_states(session, deployment_ids=ids, release_id=target.id)
    message = f"upgrade from {source.version} to {target.version} by {actor.name}"
    await deployment_service.insert_rows(
        session,
        DeploymentEvent,
        [
            {"deployment_id": i, "kind": "upgrade_requested", "message": message, "at": now}
            for i in ids
        ],
    )
    names = await fleet_actions.device_names(
        session, tenant_id=tenant_id, ids=[d.device_id for d in deployments]
    )
    await audit_service.record_many(
        session,
        [
            audit_service.values(
                actor=actor,
                action="deployments.upgraded",
                resource_type="deployment",
                resource_id=d.id,
                device_id=d.device_id,
                summary=f"upgraded deployment {d.id} on device {names.get(d.device_id)!r} "
                f"from {source.version} to {target.version}",
                details={
                    "from_release_id": str(source.id),
                    "to_release_id": str(target.id),
                    "device": names.get(d.device_id),
                    "together_with": len(deployments) - 1,
                },
            )
            for d in deployments
        ],
    )
    for deployment in deployments:
        notify.mark(session, deployment.device_id)
    return deployments
