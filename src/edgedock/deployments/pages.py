"""Web pages for deployments: the list, and one deployment's status, timeline and controls.

A deployment's page follows its device by itself: the browser fetches `/live` (the part that
changes, as an HTML fragment with an ETag) every few seconds, with no script but our own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.applications import service as application_service
from edgedock.deployments import api as deployments_api
from edgedock.deployments import service as deployment_service
from edgedock.errors import EdgedockError, Invalid
from edgedock.pagination import MAX_CURSOR_LENGTH
from edgedock.read import deployment_page
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
    page = await deployment_page.read_page(session, deployment)
    application = await application_service.get(
        session, tenant_id=tenant_id, application_id=page.deployment.application_id
    )
    releases = await release_service.search(session, application=application, limit=50)
    context = {
        "p": page,
        "etag": deployment_page.fingerprint(_live_html(page)),
        "upgrades": [
            ReleaseOption(str(r.id), r.version)
            for r in releases.items
            if r.id != page.deployment.release_id
        ],
        "errors": errors or {},
    }
    return web.render(
        request, "deployments/detail.html", context, user=user, status=status, section=SECTION
    )


def _live_html(page: deployment_page.DeploymentPage) -> str:
    return web.templates.get_template("deployments/_live_page.html").render({"p": page})


@router.get("/{deployment_id}")
async def show_deployment(
    request: Request, deployment_id: str, session: Session, user: SignedIn
) -> Response:
    return await _detail(request, session, user, deployment_id)


@router.get("/{deployment_id}/live")
async def show_deployment_live(
    request: Request, deployment_id: str, session: Session, user: SignedIn
) -> Response:
    """The changing part of the page; 304 while it is what the browser already shows."""
    deployment = await deployment_service.get(
        session,
        tenant_id=user.actor.tenant_id,
        deployment_id=deployments_api.parse_id(deployment_id),
    )
    html = _live_html(await deployment_page.read_page(session, deployment))
    etag = deployment_page.fingerprint(html)
    if request.headers.get("if-none-match") == etag:
        return web.secure_headers(Response(status_code=304, headers={"ETag": etag}))
    return web.secure_headers(HTMLResponse(html, headers={"ETag": etag}))


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
    """The device's name typed is the confirmation, checked here as well as in the form."""
    deployment = await deployment_service.get(
        session,
        tenant_id=user.actor.tenant_id,
        deployment_id=deployments_api.parse_id(deployment_id),
    )
    read = await deployment_reading.read_one(session, deployment)
    if text(form, "confirm_device").strip() != read.device:
        error = f"Type the device name “{read.device}” exactly to delete this deployment."
        return await _detail(
            request, session, user, deployment_id, errors={"confirm_device": error}, status=422
        )
    await deployment_service.delete(session, actor=user.actor, deployment_id=deployment.id)
    return web.redirect(
        request,
        "/deployments",
        flash=f"Deployment of {read.application} on “{read.device}” deleted: "
        "the device removes its containers.",
    )
