"""Web pages for applications: list, create and detail (its releases and deployments)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from edgedock.applications import api as applications_api
from edgedock.applications import service as application_service
from edgedock.applications.schemas import ApplicationCreate
from edgedock.errors import EdgedockError
from edgedock.pagination import MAX_CURSOR_LENGTH
from edgedock.read import deployments as deployment_reading
from edgedock.releases import service as release_service
from edgedock.server import forms, web
from edgedock.server.deps import Session
from edgedock.server.web_auth import CheckedForm, SignedIn, WebUser, text

router = APIRouter(prefix="/applications", include_in_schema=False)
SECTION = "applications"


@router.get("")
async def list_applications(
    request: Request,
    session: Session,
    user: SignedIn,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> Response:
    page = await application_service.search(
        session, tenant_id=user.actor.tenant_id, q=q, limit=50, cursor=cursor or None
    )
    context = {"page": page, "q": q or ""}
    return web.render(request, "applications/list.html", context, user=user, section=SECTION)


def _form(
    request: Request,
    user: WebUser,
    *,
    name: str,
    description: str,
    errors: forms.FieldErrors,
    status: int = 200,
) -> Response:
    context = {"name": name, "description": description, "errors": errors}
    return web.render(
        request,
        "applications/new.html",
        context,
        user=user,
        status=status,
        section=SECTION,
    )


@router.get("/new")
async def new_application(request: Request, session: Session, user: SignedIn) -> Response:
    return _form(request, user, name="", description="", errors={})


@router.post("")
async def create_application(
    request: Request, session: Session, user: SignedIn, form: CheckedForm
) -> Response:
    name, description = text(form, "name"), text(form, "description")
    try:
        data = ApplicationCreate(name=name, description=description)
        async with session.begin_nested():
            application = await application_service.create(session, actor=user.actor, data=data)
    except ValidationError as exc:
        return _form(
            request,
            user,
            name=name,
            description=description,
            errors=forms.errors_of(exc),
            status=422,
        )
    except EdgedockError as exc:
        errors = forms.error_of(exc)
        if errors is None:
            raise
        return _form(
            request, user, name=name, description=description, errors=errors, status=exc.status
        )
    return web.redirect(
        request,
        f"/applications/{application.id}",
        flash=f"Application “{application.name}” created. Now make its first release.",
    )


@router.get("/{application_id}")
async def show_application(
    request: Request, application_id: str, session: Session, user: SignedIn
) -> Response:
    tenant_id = user.actor.tenant_id
    application_uuid = applications_api.parse_id(application_id)
    summary = await application_service.read(
        session, tenant_id=tenant_id, application_id=application_uuid
    )
    # Already in the session's identity map after read(): no second query.
    application = await application_service.get(
        session, tenant_id=tenant_id, application_id=application_uuid
    )
    releases = await release_service.search(session, application=application, limit=50)
    deployments = await deployment_reading.search(
        session, tenant_id=tenant_id, application_id=application.id, limit=50
    )
    context = {
        "app": summary,
        "releases": releases,
        "deployments": deployments,
    }
    return web.render(request, "applications/detail.html", context, user=user, section=SECTION)
