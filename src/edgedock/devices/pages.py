"""Web pages for devices: list, register and re-issue tokens (each shown once), deploy, delete."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.audit import service as audit_service
from edgedock.audit.schemas import AuditFilter
from edgedock.deployments import service as deployment_service
from edgedock.devices import api as devices_api
from edgedock.devices import service as device_service
from edgedock.devices.schemas import DeviceCreate, DeviceRead
from edgedock.errors import EdgedockError, Invalid
from edgedock.pagination import MAX_CURSOR_LENGTH
from edgedock.read import deployments as deployment_reading
from edgedock.read import fleet_actions
from edgedock.server import agent_downloads, forms, web
from edgedock.server.deps import Session
from edgedock.server.web_auth import CheckedForm, SignedIn, WebUser, text

router = APIRouter(prefix="/devices", include_in_schema=False)
SECTION = "devices"


@dataclass(frozen=True, slots=True)
class DeviceView:
    device: DeviceRead
    engine: str


def engine_text(engine: dict[str, Any] | None) -> str:
    """`Podman 5.4.2 (linux/amd64)` from what the agent reported; `—` before its first report."""
    if not engine:
        return "—"
    text_ = " ".join(str(engine[k]) for k in ("name", "version") if engine.get(k))
    platform = "/".join(str(engine[k]) for k in ("os", "arch") if engine.get(k))
    return f"{text_} ({platform})" if platform else text_ or "—"


def _view(device: DeviceRead) -> DeviceView:
    return DeviceView(device, engine_text(device.engine))


@router.get("")
async def list_devices(
    request: Request,
    session: Session,
    user: SignedIn,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> Response:
    page = await device_service.search(
        session, tenant_id=user.actor.tenant_id, q=q, limit=50, cursor=cursor or None
    )
    context = {
        "devices": [_view(d) for d in page.items],
        "next_cursor": page.next_cursor,
        "q": q or "",
    }
    return web.render(request, "devices/list.html", context, user=user, section=SECTION)


def _form(
    request: Request, user: WebUser, *, name: str, errors: forms.FieldErrors, status: int = 200
) -> Response:
    return web.render(
        request,
        "devices/new.html",
        {"name": name, "errors": errors},
        user=user,
        status=status,
        section=SECTION,
    )


@router.get("/new")
async def new_device(request: Request, session: Session, user: SignedIn) -> Response:
    return _form(request, user, name="", errors={})


@router.post("")
async def create_device(
    request: Request, session: Session, user: SignedIn, form: CheckedForm
) -> Response:
    """Answers with the token page itself (no redirect): the token exists only in this answer."""
    name = text(form, "name")
    try:
        data = DeviceCreate(name=name)
        async with session.begin_nested():
            device, token = await device_service.create(session, actor=user.actor, data=data)
    except ValidationError as exc:
        return _form(request, user, name=name, errors=forms.errors_of(exc), status=422)
    except EdgedockError as exc:
        errors = forms.error_of(exc)
        if errors is None:
            raise
        return _form(request, user, name=name, errors=errors, status=exc.status)
    context = {
        "device": device_service.to_read(device),
        "token": token,
        "install": agent_downloads.install_commands(str(request.base_url), token=token),
        "podman_engine": agent_downloads.PODMAN_ENGINE,
    }
    return web.render(
        request, "devices/created.html", context, user=user, status=201, section=SECTION
    )


async def _detail(
    request: Request,
    session: AsyncSession,
    user: WebUser,
    device_id: str,
    *,
    errors: forms.FieldErrors | None = None,
    status: int = 200,
    release_id: str = "",
    upgrade: str | None = None,
) -> Response:
    tenant_id = user.actor.tenant_id
    device = await device_service.get(
        session, tenant_id=tenant_id, device_id=devices_api.parse_id(device_id)
    )
    deployments = await deployment_reading.search(
        session, tenant_id=tenant_id, device_id=device.id, limit=50
    )
    events = await audit_service.search(
        session, tenant_id=tenant_id, filters=AuditFilter(device_id=device.id), limit=20
    )
    context = {
        "d": _view(device_service.to_read(device, deployment_count=len(deployments.items))),
        "deployments": deployments,
        "events": events,
        "errors": errors or {},
        "release_groups": await fleet_actions.release_groups(
            session, tenant_id=tenant_id, device_id=device.id
        ),
        "release_id": release_id,
        "upgrade_url": upgrade,
        "install": agent_downloads.install_commands(str(request.base_url)),
        "podman_engine": agent_downloads.PODMAN_ENGINE,
    }
    return web.render(
        request, "devices/detail.html", context, user=user, status=status, section=SECTION
    )


@router.get("/{device_id}")
async def show_device(
    request: Request, device_id: str, session: Session, user: SignedIn
) -> Response:
    return await _detail(request, session, user, device_id)


@router.post("/{device_id}/delete")
async def delete_device(
    request: Request, device_id: str, session: Session, user: SignedIn, form: CheckedForm
) -> Response:
    device = await device_service.get(
        session, tenant_id=user.actor.tenant_id, device_id=devices_api.parse_id(device_id)
    )
    if text(form, "confirm_name").strip() != device.name:
        error = f"Type the name “{device.name}” exactly to delete this device."
        return await _detail(
            request, session, user, device_id, errors={"confirm_name": error}, status=422
        )
    await device_service.delete(session, actor=user.actor, device_id=device.id)
    return web.redirect(request, "/devices", flash=f"Device “{device.name}” deleted.")


@router.post("/{device_id}/token")
async def reissue_token(
    request: Request, device_id: str, session: Session, user: SignedIn, form: CheckedForm
) -> Response:
    """Answers with the token page itself (no redirect): the new token exists only here."""
    device = await device_service.get(
        session, tenant_id=user.actor.tenant_id, device_id=devices_api.parse_id(device_id)
    )
    if text(form, "confirm_reissue") != "yes":
        error = "Tick the box to confirm: the agent stops working until it has the new token."
        return await _detail(
            request, session, user, device_id, errors={"confirm_reissue": error}, status=422
        )
    device, token = await device_service.reissue_token(
        session, actor=user.actor, device_id=device.id
    )
    context = {
        "device": device_service.to_read(device),
        "token": token,
        "command": f"printf '%s\\n' {shlex.quote(token)} | "
        f"sudo install -m 600 /dev/stdin {agent_downloads.TOKEN_FILE}",
    }
    return web.render(request, "devices/token.html", context, user=user, section=SECTION)


def _upgrade_link(exc: EdgedockError) -> str | None:
    """Where "upgrade that deployment instead" leads: the deployment the device already has."""
    if isinstance(exc, deployment_service.AlreadyDeployed) and exc.existing:
        return f"/deployments/{exc.existing[0]}"
    return None


@router.post("/{device_id}/deploy")
async def deploy_to_device(
    request: Request, device_id: str, session: Session, user: SignedIn, form: CheckedForm
) -> Response:
    release_id = text(form, "release_id")
    try:
        release_uuid = forms.optional_uuid(release_id, field="release_id")
        if release_uuid is None:
            raise Invalid("pick the release to deploy", field="release_id")
        async with session.begin_nested():
            deployment = await deployment_service.create(
                session,
                actor=user.actor,
                release_id=release_uuid,
                device_id=devices_api.parse_id(device_id),
            )
    except EdgedockError as exc:
        if isinstance(exc, device_service.DeviceNotFound):
            raise  # the device itself is gone: the not-found page
        return await _detail(
            request,
            session,
            user,
            device_id,
            errors={"release_id": exc.message},
            status=exc.status,
            release_id=release_id,
            upgrade=_upgrade_link(exc),
        )
    return web.redirect(request, f"/deployments/{deployment.id}", flash="Deployed.")
