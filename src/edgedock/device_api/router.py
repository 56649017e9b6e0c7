"""Device API routes: desired state (long poll), registry auth, status reports."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from edgedock import wire
from edgedock.deployments import reading as deployment_reading
from edgedock.device_api import service as device_api_service
from edgedock.devices import service as device_service
from edgedock.devices.models import Device
from edgedock.errors import Unauthorized
from edgedock.server.deps import KeyringDep, Session, State

router = APIRouter(prefix="/device/v1", tags=["device API"])
_bearer = HTTPBearer(auto_error=False)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        raise Unauthorized("a device token is required: Authorization: Bearer <device token>")
    return credentials.credentials


async def current_device(session: Session, credentials: Bearer) -> Device:
    device = await device_service.authenticate(session, token=_token(credentials))
    await device_service.mark_seen(session, device=device)
    return device


CurrentDevice = Annotated[Device, Depends(current_device)]


@router.get("/ping", status_code=status.HTTP_204_NO_CONTENT)
async def ping(_device: CurrentDevice) -> Response:
    """Checks the token and records the device as seen; agents use it as a health check."""
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/desired-state", response_model=wire.DesiredState)
async def get_desired_state(
    state: State,
    credentials: Bearer,
    wait: Annotated[float, Query(ge=0, le=3600)] = 0,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Long poll: answers 304 when nothing changed within `wait` seconds.

    This route manages its own short transactions instead of the per-request session, so the
    wait holds no database connection (and no thread): a fleet of idle devices costs only
    coroutines.
    """
    wait = min(wait, state.settings.max_poll_wait)
    async with state.database.transaction() as session:
        device = await device_service.authenticate(session, token=_token(credentials))
        await device_service.mark_seen(session, device=device)
    with state.notifier.subscribe(device.id) as changed:
        async with state.database.snapshot() as session:
            desired, etag = await deployment_reading.desired_state(session, device=device)
        if if_none_match == etag and wait > 0:
            try:
                await asyncio.wait_for(changed.wait(), timeout=wait)
            except TimeoutError:
                return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
            async with state.database.snapshot() as session:
                desired, etag = await deployment_reading.desired_state(session, device=device)
    if if_none_match == etag:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    return Response(
        desired.model_dump_json(),
        media_type="application/json",
        headers={"ETag": etag, "Cache-Control": "no-store"},
    )


@router.post("/registry-auth")
async def post_registry_auth(
    data: wire.RegistryAuthRequest,
    session: Session,
    device: CurrentDevice,
    keyring: KeyringDep,
    response: Response,
) -> wire.RegistryAuthResponse:
    """The registry auth for one container, just before its pull. Use once, never store."""
    response.headers["Cache-Control"] = "no-store"
    return await device_api_service.issue_registry_auth(
        session, device=device, request=data, keyring=keyring
    )


@router.post("/status", status_code=status.HTTP_204_NO_CONTENT)
async def post_status(data: wire.StatusReport, session: Session, device: CurrentDevice) -> Response:
    if data.engine is not None:
        await device_service.mark_seen(session, device=device, engine=data.engine.model_dump())
    await device_api_service.apply_status(session, device=device, report=data)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
