"""REST endpoints for deployments: create (one or many), read, start, stop, upgrade (one or
every deployment of a release), delete, timeline."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from edgedock.deployments import bulk
from edgedock.deployments import service as deployment_service
from edgedock.deployments.schemas import (
    DeploymentBatch,
    DeploymentCreate,
    DeploymentCreateMany,
    DeploymentDetail,
    DeploymentEventRead,
    DeploymentRead,
    DeploymentUpgrade,
    DeploymentUpgradeBatch,
    DeploymentUpgradeMany,
)
from edgedock.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, Page
from edgedock.read import deployment_page, fleet_actions
from edgedock.read import deployments as deployment_reading
from edgedock.releases import service as release_service
from edgedock.server.deps import CurrentActor, Session

router = APIRouter(prefix="/deployments", tags=["deployments"])


def parse_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise deployment_service.DeploymentNotFound(f"deployment {value} does not exist") from None


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_deployment(
    data: DeploymentCreate, session: Session, actor: CurrentActor
) -> DeploymentRead:
    deployment = await deployment_service.create(
        session,
        actor=actor,
        release_id=data.release_id,
        device_id=data.device_id,
        desired=data.desired,
    )
    return await deployment_reading.read_one(session, deployment)


@router.post("/bulk", status_code=status.HTTP_201_CREATED)
async def create_deployments(
    data: DeploymentCreateMany, session: Session, actor: CurrentActor
) -> DeploymentBatch:
    """Deploy one release to up to 10,000 devices in one transaction: all of them, or none."""
    deployments = await deployment_service.create_many(
        session,
        actor=actor,
        release_id=data.release_id,
        device_ids=data.device_ids,
        desired=data.desired,
    )
    loaded = await deployment_reading.load(session, deployments)
    return DeploymentBatch(items=[deployment_reading.to_read(x) for x in loaded])


@router.post("/upgrade")
async def upgrade_deployments(
    data: DeploymentUpgradeMany, session: Session, actor: CurrentActor
) -> DeploymentUpgradeBatch:
    """Move every deployment of `from_release` (on `devices`, when given) to `to_release`, in
    one transaction; the devices named but not upgraded are listed with the reason."""
    upgraded = await bulk.upgrade_many(
        session,
        actor=actor,
        from_release_id=data.from_release,
        to_release_id=data.to_release,
        device_ids=data.devices,
    )
    loaded = await deployment_reading.load(session, upgraded)
    skipped = []
    if data.devices is not None:
        skipped = await fleet_actions.not_upgraded(
            session,
            tenant_id=actor.tenant_id,
            source=await release_service.get(
                session, tenant_id=actor.tenant_id, release_id=data.from_release
            ),
            target=await release_service.get(
                session, tenant_id=actor.tenant_id, release_id=data.to_release
            ),
            device_ids=data.devices,
            upgraded={d.device_id for d in upgraded},
        )
    return DeploymentUpgradeBatch(
        upgraded=[deployment_reading.to_read(x) for x in loaded], skipped=skipped
    )


@router.get("")
async def search_deployments(
    session: Session,
    actor: CurrentActor,
    device_id: uuid.UUID | None = None,
    release_id: uuid.UUID | None = None,
    application_id: uuid.UUID | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> Page[DeploymentRead]:
    return await deployment_reading.search(
        session,
        tenant_id=actor.tenant_id,
        device_id=device_id,
        release_id=release_id,
        application_id=application_id,
        limit=limit,
        cursor=cursor,
    )


@router.get("/{deployment_id}")
async def get_deployment(
    deployment_id: str, session: Session, actor: CurrentActor
) -> DeploymentDetail:
    """With what the device's engine runs for it and a one-line summary of the two."""
    deployment = await deployment_service.get(
        session, tenant_id=actor.tenant_id, deployment_id=parse_id(deployment_id)
    )
    return await deployment_page.detail(session, deployment)


@router.get("/{deployment_id}/events")
async def get_deployment_events(
    deployment_id: str,
    session: Session,
    actor: CurrentActor,
    limit: int = 100,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> Page[DeploymentEventRead]:
    deployment = await deployment_service.get(
        session, tenant_id=actor.tenant_id, deployment_id=parse_id(deployment_id)
    )
    return await deployment_reading.events(
        session, deployment=deployment, limit=limit, cursor=cursor
    )


@router.post("/{deployment_id}/start")
async def start_deployment(
    deployment_id: str, session: Session, actor: CurrentActor
) -> DeploymentRead:
    deployment = await deployment_service.set_desired(
        session, actor=actor, deployment_id=parse_id(deployment_id), desired="started"
    )
    return await deployment_reading.read_one(session, deployment)


@router.post("/{deployment_id}/stop")
async def stop_deployment(
    deployment_id: str, session: Session, actor: CurrentActor
) -> DeploymentRead:
    deployment = await deployment_service.set_desired(
        session, actor=actor, deployment_id=parse_id(deployment_id), desired="stopped"
    )
    return await deployment_reading.read_one(session, deployment)


@router.post("/{deployment_id}/upgrade")
async def upgrade_deployment(
    deployment_id: str, data: DeploymentUpgrade, session: Session, actor: CurrentActor
) -> DeploymentRead:
    deployment = await deployment_service.upgrade(
        session, actor=actor, deployment_id=parse_id(deployment_id), release_id=data.release_id
    )
    return await deployment_reading.read_one(session, deployment)


@router.delete("/{deployment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_deployment(deployment_id: str, session: Session, actor: CurrentActor) -> Response:
    await deployment_service.delete(session, actor=actor, deployment_id=parse_id(deployment_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
