"""REST endpoints for devices. A device token is returned once, by the POST that makes it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from edgedock.devices import service as device_service
from edgedock.devices.schemas import DeviceCreate, DeviceCreated, DeviceRead
from edgedock.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, Page
from edgedock.server.deps import CurrentActor, Session

router = APIRouter(prefix="/devices", tags=["devices"])


def parse_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise device_service.DeviceNotFound(f"device {value} does not exist") from None


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_device(data: DeviceCreate, session: Session, actor: CurrentActor) -> DeviceCreated:
    device, token = await device_service.create(session, actor=actor, data=data)
    return DeviceCreated(**device_service.to_read(device).model_dump(), token=token)


@router.get("")
async def search_devices(
    session: Session,
    actor: CurrentActor,
    q: Annotated[str | None, Query(max_length=200)] = None,
    name: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Exactly this name (case-insensitively): at most one device.",
        ),
    ] = None,
    limit: int = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> Page[DeviceRead]:
    return await device_service.search(
        session, tenant_id=actor.tenant_id, q=q, name=name, limit=limit, cursor=cursor
    )


@router.get("/{device_id}")
async def get_device(device_id: str, session: Session, actor: CurrentActor) -> DeviceRead:
    device = await device_service.get(
        session, tenant_id=actor.tenant_id, device_id=parse_id(device_id)
    )
    counts = await device_service.deployment_counts(session, device_ids=[device.id])
    return device_service.to_read(device, deployment_count=counts.get(device.id, 0))


@router.post("/{device_id}/token")
async def reissue_device_token(
    device_id: str, session: Session, actor: CurrentActor
) -> DeviceCreated:
    """A new device token, shown once; the old token is refused from the moment this answers."""
    device, token = await device_service.reissue_token(
        session, actor=actor, device_id=parse_id(device_id)
    )
    counts = await device_service.deployment_counts(session, device_ids=[device.id])
    read = device_service.to_read(device, deployment_count=counts.get(device.id, 0))
    return DeviceCreated(**read.model_dump(), token=token)


@router.delete("/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_device(device_id: str, session: Session, actor: CurrentActor) -> Response:
    await device_service.delete(session, actor=actor, device_id=parse_id(device_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
