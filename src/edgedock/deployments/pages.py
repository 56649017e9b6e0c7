"""Web pages for deployments: the list, and one deployment's status, timeline and controls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.applications import service as application_service
from edgedock.deployments import api as deployments_api
from edgedock.deployments import service as deployment_service
from edgedock.errors import EdgedockError, Invalid
from edgedock.pagination import MAX_CURSOR_LENGTH
from edgedock.read import deployments as deployment_reading
from edgedock.releases import service as release_service
from edgedock.server import forms, web
from edgedock.server.deps import Session
from edgedock.server.web_auth import CheckedForm, SignedIn, WebUser, text
from edgedock.wire import DesiredRun

router = APIRouter(prefix="/deployments", include_in_schema=False)
SECTION = "deployments"


@dataclass(frozen=True, slots=True)
class ReleaseOption:
    id: str
    version: str


@router.get("")
async def list_deployments(
    request: Request,
    session: Session,
    user: SignedIn,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> Response:
    page = await deployment_reading.search(
        session, tenant_id=user.actor.tenant_id, limit=50, cursor=cursor or None
    )
    return web.render(request, "deployments/list.html", {"page": page}, user=user, section=SECTION)


async def _detail(
    request: Request,
    session: AsyncSession,
    user: WebUser,
    deployment_id: str,
    *,
    errors: forms.FieldErrors | None = None,
    status: int = 200,
) -> Response:
    tenant_id = user.actor.tenant_id
    deployment = await deployment_service.get(
        session, tenant_id=tenant_id, deployment_id=deployments_api.parse_id(deployment_id)
    )
    read = await deployment_reading.read_one(session, deployment)
    events = await deployment_reading.events(session, deployment=deployment, limit=100)
    application = await application_service.get(
        session, tenant_id=tenant_id, application_id=read.application_id
    )
    releases = await release_service.search(session, application=application, limit=50)
    context = {
        "d": read,
        "events": events,
        "upgrades": [
            ReleaseOption(str(r.id), r.version) for r in releases.items if r.id != read.release_id
        ],
        "errors": errors or {},
    }
    return web.render(
        request, "deployments/detail.html", context, user=user, status=status, section=SECTION
    )


@router.get("/{deployment_id}")
async def show_deployment(
    request: Request, deployment_id: str, session: Session, user: SignedIn
) -> Response:
    return await _detail(request, session, user, deployment_id)


async def _set_desired(
    request: Request, session: AsyncSession, user: WebUser, deployment_id: str, desired: DesiredRun
) -> Response:
    deployment = await deployment_service.set_desired(
        session,
        actor=user.actor,
        deployment_id=deployments_api.parse_id(deployment_id),
        desired=desired,
    )
    verb = "Start" if desired == "started" else "Stop"
    return web.redirect(
        request, f"/deployments/{deployment.id}", flash=f"{verb} requested: the device follows."
    )


@router.post("/{deployment_id}/start")
async def start_deployment(
    request: Request, deployment_id: str, session: Session, user: SignedIn, form: CheckedForm
) -> Response:
    return await _set_desired(request, session, user, deployment_id, "started")


@router.post("/{deployment_id}/stop")
async def stop_deployment(
    request: Request, deployment_id: str, session: Session, user: SignedIn, form: CheckedForm
) -> Response:
    return await _set_desired(request, session, user, deployment_id, "stopped")


@router.post("/{deployment_id}/upgrade")
async def upgrade_deployment(
    request: Request, deployment_id: str, session: Session, user: SignedIn, form: CheckedForm
) -> Response:
    try:
        release_id = forms.optional_uuid(text(form, "release_id"), field="release_id")
        if release_id is None:
            raise Invalid("pick the release to upgrade to", field="release_id")
        async with session.begin_nested():
            deployment = await deployment_service.upgrade(
                session,
                actor=user.actor,
                deployment_id=deployments_api.parse_id(deployment_id),
                release_id=release_id,
            )
    except EdgedockError as exc:
        errors = forms.error_of(exc)
        if errors is None:
            raise
        return await _detail(
            request, session, user, deployment_id, errors=errors, status=exc.status
        )
    return web.redirect(
        request, f"/deployments/{deployment.id}", flash="Upgrade requested: the device follows."
    )


@router.post("/{deployment_id}/delete")
async def delete_deployment(
    request: Request, deployment_id: str, session: Session, user: SignedIn, form: CheckedForm
) -> Response:
    await deployment_service.delete(
        session, actor=user.actor, deployment_id=deployments_api.parse_id(deployment_id)
    )
    return web.redirect(
        request, "/deployments", flash="Deployment deleted: the device removes its containers."
    )
