"""Web pages for releases: the release form, the release page, deploying it to devices and
upgrading other releases' deployments to it."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from edgedock import container_spec
from edgedock.applications import api as applications_api
from edgedock.applications import service as application_service
from edgedock.applications.models import Application
from edgedock.credentials import service as credential_service
from edgedock.deployments import bulk
from edgedock.deployments import service as deployment_service
from edgedock.errors import EdgedockError, Invalid
from edgedock.read import deployments as deployment_reading
from edgedock.read import fleet_actions
from edgedock.releases import api as releases_api
from edgedock.releases import form as release_form
from edgedock.releases import service as release_service
from edgedock.releases.schemas import ReleaseCreate
from edgedock.server import forms, web
from edgedock.server.deps import Session
from edgedock.server.web_auth import CheckedForm, SignedIn, WebUser, text

router = APIRouter(include_in_schema=False)
SECTION = "applications"
# The most devices one form deploys to; the API's bulk endpoint takes a whole fleet.
MAX_DEVICES = fleet_actions.MAX_CHOICES


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
    q: str | None = None,
    selected: frozenset[str] = frozenset(),
    errors: forms.FieldErrors | None = None,
    upgrade_hint: bool = False,
    status: int = 200,
) -> Response:
    tenant_id = user.actor.tenant_id
    release = await release_service.get(
        session, tenant_id=tenant_id, release_id=releases_api.parse_id(release_id)
    )
    read = await release_service.read(session, release=release)
    choices = await fleet_actions.device_choices(session, tenant_id=tenant_id, release=release, q=q)
    deployments = await deployment_reading.search(
        session, tenant_id=tenant_id, release_id=release.id, limit=50
    )
    context = {
        "release": read,
        "devices": choices,
        "more_devices": len(choices) >= fleet_actions.MAX_CHOICES,
        "q": q or "",
        "selected": selected,
        "deployments": deployments,
        "upgrade_sources": await fleet_actions.upgrade_sources(session, release=release),
        "upgrade_hint": upgrade_hint,
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
    request: Request,
    release_id: str,
    session: Session,
    user: SignedIn,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    return await _release_page(request, session, user, release_id, q=q)


def _device_ids(form: FormData) -> list[uuid.UUID]:
    values = [v for v in form.getlist("device_id") if isinstance(v, str) and v]
    if not values:
        raise Invalid("pick at least one device to deploy to", field="device_id")
    if len(values) > MAX_DEVICES:
        raise Invalid(f"pick at most {MAX_DEVICES} devices at once", field="device_id")
    ids = [forms.optional_uuid(v, field="device_id") for v in values]
    return [i for i in ids if i is not None]


@router.post("/releases/{release_id}/deploy")
async def deploy_release(
    request: Request, release_id: str, session: Session, user: SignedIn, form: CheckedForm
) -> Response:
    """One device: to its deployment, or the refusal on the form. Several: a page that says
    per device what was deployed, what already was, and what was refused and why."""
    release_uuid = releases_api.parse_id(release_id)
    selected = frozenset(v for v in form.getlist("device_id") if isinstance(v, str))
    try:
        device_ids = _device_ids(form)
        async with session.begin_nested():
            if len(device_ids) == 1:
                deployment = await deployment_service.create(
                    session, actor=user.actor, release_id=release_uuid, device_id=device_ids[0]
                )
                return web.redirect(request, f"/deployments/{deployment.id}", flash="Deployed.")
            outcomes = await bulk.deploy_where_possible(
                session, actor=user.actor, release_id=release_uuid, device_ids=device_ids
            )
    except EdgedockError as exc:
        if isinstance(exc, release_service.ReleaseNotFound):
            raise
        return await _release_page(
            request,
            session,
            user,
            release_id,
            q=text(form, "q") or None,
            selected=selected,
            errors={"device_id": exc.message},
            upgrade_hint=isinstance(exc, deployment_service.AlreadyDeployed),
            status=exc.status,
        )
    release = await release_service.get(
        session, tenant_id=user.actor.tenant_id, release_id=release_uuid
    )
    context = {
        "release": await release_service.read(session, release=release),
        "outcomes": outcomes,
        "counts": Counter(o.outcome for o in outcomes),
    }
    return web.render(request, "releases/deployed.html", context, user=user, section=SECTION)


@router.post("/releases/{release_id}/upgrade")
async def upgrade_to_release(
    request: Request, release_id: str, session: Session, user: SignedIn, form: CheckedForm
) -> Response:
    """Every deployment of the release named `from_release` moves to this one."""
    target = releases_api.parse_id(release_id)
    try:
        source = forms.optional_uuid(text(form, "from_release"), field="from_release")
        if source is None:
            raise Invalid("pick the release whose deployments to upgrade", field="from_release")
        async with session.begin_nested():
            upgraded = await bulk.upgrade_many(
                session, actor=user.actor, from_release_id=source, to_release_id=target
            )
    except EdgedockError as exc:
        if exc.field != "from_release":
            raise
        return await _release_page(
            request,
            session,
            user,
            release_id,
            errors={"from_release": exc.message},
            status=exc.status,
        )
    flash = (
        f"Upgrade requested for {len(upgraded)} deployment(s): the devices follow."
        if upgraded
        else "No deployment of that release was left to upgrade."
    )
    return web.redirect(request, f"/releases/{target}#upgrade", flash=flash)
