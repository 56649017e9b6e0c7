"""Web pages for releases: the release form, the release page, and deploying from it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import container_spec
from edgedock.applications import api as applications_api
from edgedock.applications import service as application_service
from edgedock.applications.models import Application
from edgedock.credentials import service as credential_service
from edgedock.deployments import service as deployment_service
from edgedock.devices import service as device_service
from edgedock.errors import EdgedockError, Invalid
from edgedock.read import deployments as deployment_reading
from edgedock.releases import api as releases_api
from edgedock.releases import form as release_form
from edgedock.releases import service as release_service
from edgedock.releases.schemas import ReleaseCreate
from edgedock.server import forms, web
from edgedock.server.deps import Session
from edgedock.server.web_auth import CheckedForm, SignedIn, WebUser, text

router = APIRouter(include_in_schema=False)
SECTION = "applications"


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    text: str


async def _credential_options(session: AsyncSession, *, tenant_id: uuid.UUID) -> list[Option]:
    page = await credential_service.search(session, tenant_id=tenant_id, limit=200)
    return [Option(str(c.id), f"{c.label} ({c.username})") for c in page.items]


async def _form(
    request: Request,
    session: AsyncSession,
    user: WebUser,
    application: Application,
    *,
    version: str,
    rows: list[release_form.ContainerRow],
    errors: forms.FieldErrors,
    status: int = 200,
) -> Response:
    context = {
        "app": application_service.to_read(application),
        "version": version,
        "rows": rows,
        "more_rows": min(len(rows) + 3, release_form.MAX_ROWS),
        "errors": errors,
        "credentials": await _credential_options(session, tenant_id=user.actor.tenant_id),
        "restart_policies": container_spec.RESTART_POLICIES,
    }
    return web.render(
        request,
        "releases/new.html",
        context,
        user=user,
        status=status,
        section=SECTION,
    )


@router.get("/applications/{application_id}/releases/new")
async def new_release(
    request: Request,
    application_id: str,
    session: Session,
    user: SignedIn,
    rows: int = release_form.DEFAULT_ROWS,
) -> Response:
    application = await application_service.get(
        session,
        tenant_id=user.actor.tenant_id,
        application_id=applications_api.parse_id(application_id),
    )
    count = release_form.row_count(rows)
    return await _form(
        request,
        session,
        user,
        application,
        version="",
        rows=release_form.empty_rows(count),
        errors={},
    )


@router.post("/applications/{application_id}/releases")
async def create_release(
    request: Request, application_id: str, session: Session, user: SignedIn, form: CheckedForm
) -> Response:
    application = await application_service.get(
        session,
        tenant_id=user.actor.tenant_id,
        application_id=applications_api.parse_id(application_id),
    )
    version, rows = text(form, "version"), release_form.rows_from(form)
    body, used = release_form.request_body(version, rows)
    try:
        data = ReleaseCreate.model_validate(body)
        if release_form.has_errors(rows):
            raise forms.FormInvalid
        async with session.begin_nested():
            release = await release_service.create(
                session, actor=user.actor, application=application, data=data
            )
    except (ValidationError, forms.FormInvalid) as exc:
        errors = forms.errors_of(exc) if isinstance(exc, ValidationError) else {}
        status = 422
    except EdgedockError as exc:
        errors, status = forms.error_of(exc) or {}, exc.status
        if not errors:
            raise
    else:
        return web.redirect(
            request,
            f"/releases/{release.id}",
            flash=f"Release {release.version} of “{application.name}” created.",
        )
    errors = release_form.place_errors(errors, rows, used)
    return await _form(
        request,
        session,
        user,
        application,
        version=version,
        rows=rows,
        errors=errors,
        status=status,
    )


async def _release_page(
    request: Request,
    session: AsyncSession,
    user: WebUser,
    release_id: str,
    *,
    device_id: str = "",
    errors: forms.FieldErrors | None = None,
    status: int = 200,
) -> Response:
    tenant_id = user.actor.tenant_id
    release = await release_service.get(
        session, tenant_id=tenant_id, release_id=releases_api.parse_id(release_id)
    )
    read = await release_service.read(session, release=release)
    devices = await device_service.search(session, tenant_id=tenant_id, limit=200)
    deployments = await deployment_reading.search(
        session, tenant_id=tenant_id, release_id=release.id, limit=50
    )
    context = {
        "release": read,
        "devices": [Option(str(d.id), d.name) for d in devices.items],
        "device_id": device_id,
        "deployments": deployments,
        "errors": errors or {},
    }
    return web.render(
        request,
        "releases/detail.html",
        context,
        user=user,
        status=status,
        section=SECTION,
    )


@router.get("/releases/{release_id}")
async def show_release(
    request: Request, release_id: str, session: Session, user: SignedIn
) -> Response:
    return await _release_page(request, session, user, release_id)


@router.post("/releases/{release_id}/deploy")
async def deploy_release(
    request: Request, release_id: str, session: Session, user: SignedIn, form: CheckedForm
) -> Response:
    device_id = text(form, "device_id")
    try:
        device_uuid = forms.optional_uuid(device_id, field="device_id")
        if device_uuid is None:
            raise Invalid("pick a device to deploy to", field="device_id")
        async with session.begin_nested():
            deployment = await deployment_service.create(
                session,
                actor=user.actor,
                release_id=releases_api.parse_id(release_id),
                device_id=device_uuid,
            )
    except EdgedockError as exc:
        errors = forms.error_of(exc)
        if errors is None:
            raise
        return await _release_page(
            request,
            session,
            user,
            release_id,
            device_id=device_id,
            errors=errors,
            status=exc.status,
        )
    return web.redirect(request, f"/deployments/{deployment.id}", flash="Deployed.")
