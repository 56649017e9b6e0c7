"""Device API routes: desired state (long poll), registry auth, status reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from edgedock import wire
from edgedock.device_api import polls
from edgedock.device_api import service as device_api_service
from edgedock.device_api.fleet import DeviceIdentity
from edgedock.devices import service as device_service
from edgedock.errors import Unauthorized
from edgedock.server.deps import Session, State

router = APIRouter(prefix="/device/v1", tags=["device API"])
_bearer = HTTPBearer(auto_error=False)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        raise Unauthorized("a device token is required: Authorization: Bearer <device token>")
    return credentials.credentials


async def current_device(state: State, credentials: Bearer) -> DeviceIdentity:
    """Authenticates before any database session is taken (from memory when it can)."""
    return await polls.authenticate(state.database, state.fleet, _token(credentials))


CurrentDevice = Annotated[DeviceIdentity, Depends(current_device)]


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
    """Long poll: answers 304 when nothing changed within `wait` seconds."""
    answer = await polls.desired_state(
        state.database,
        state.fleet,
        state.bodies,
        token=_token(credentials),
        if_none_match=if_none_match,
        wait=min(wait, state.settings.max_poll_wait),
    )
    if answer.body is None:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": answer.etag})
    return Response(
        answer.body,
        media_type="application/json",
        headers={"ETag": answer.etag, "Cache-Control": "no-store"},
    )


@router.post("/registry-auth")
async def post_registry_auth(
    data: wire.RegistryAuthRequest, device: CurrentDevice, state: State, response: Response
) -> wire.RegistryAuthResponse:
    """The registry auth for one container, just before its pull. Use once, never store."""
    response.headers["Cache-Control"] = "no-store"
    return await device_api_service.issue_registry_auth(
        state.database,
        state.audit,
        state.pull_targets,
        device=device,
        request=data,
        keyring=state.keyring,
        secrets=state.pull_secrets,
        pull_secret_ttl=state.settings.pull_secret_ttl_seconds,
    )


@router.post("/status", status_code=status.HTTP_204_NO_CONTENT)
async def post_status(data: wire.StatusReport, device: CurrentDevice, session: Session) -> Response:
    if data.engine is not None:
        await device_service.record_engine(
            session, device_id=device.id, engine=data.engine.model_dump()
        )
    await device_api_service.apply_status(session, device=device, report=data)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
