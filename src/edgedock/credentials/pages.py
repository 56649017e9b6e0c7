"""Web pages for image credentials: list, create, detail, and delete with the label typed.

The password goes one way only: from the create form into the service. No page puts it back,
not even the form re-rendered after a validation error, whose password field comes back empty.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.audit import service as audit_service
from edgedock.audit.schemas import AuditFilter
from edgedock.credentials import api as credentials_api
from edgedock.credentials import checks
from edgedock.credentials import service as credential_service
from edgedock.credentials.deps import ExpiryWarning
from edgedock.credentials.schemas import CheckRequest, CredentialCreate, ExpiryState
from edgedock.errors import EdgedockError
from edgedock.pagination import MAX_CURSOR_LENGTH
from edgedock.server import forms, web
from edgedock.server.deps import KeyringDep, Session, State
from edgedock.server.web_auth import (
    BriefCheckedForm,
    BriefSignedIn,
    CheckedForm,
    SignedIn,
    WebUser,
    text,
)

router = APIRouter(prefix="/image-credentials", include_in_schema=False)

KIND_NAMES = {
    "docker_hub_pat": "Docker Hub token",
    "github_pat": "GitHub token",
    "aws_ecr": "AWS ECR token",
    "jwt": "JWT",
}
SECTION = "credentials"
STATE_CHOICES = [
    ("", "Any expiry"),
    ("expiring", "Expiring"),
    ("expired", "Expired"),
    ("valid", "Valid"),
]


@router.get("")
async def list_credentials(
    request: Request,
    session: Session,
    user: SignedIn,
    warning: ExpiryWarning,
    q: Annotated[str | None, Query(max_length=200)] = None,
    state: Annotated[ExpiryState | Literal[""] | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> Response:
    page = await credential_service.search(
        session,
        tenant_id=user.actor.tenant_id,
        q=q,
        state=state or None,
        limit=50,
        cursor=cursor or None,
        warning=warning,
    )
    context = {
        "page": page,
        "q": q or "",
        "state": state or "",
        "states": STATE_CHOICES,
        "kind_names": KIND_NAMES,
    }
    return web.render(request, "credentials/list.html", context, user=user, section=SECTION)


def _form(
    request: Request,
    user: WebUser,
    *,
    label: str,
    username: str,
    errors: forms.FieldErrors,
    registry: str = "",
    expires_at: str = "",
    status: int = 200,
) -> Response:
    # Deliberately no `password` in this context: the template has nothing to echo.
    context = {
        "label": label,
        "username": username,
        "registry": registry,
        "expires_at": expires_at,
        "errors": errors,
    }
    return web.render(
        request, "credentials/new.html", context, user=user, status=status, section=SECTION
    )


@router.get("/new")
async def new_credentials(request: Request, session: Session, user: SignedIn) -> Response:
    return _form(request, user, label="", username="", errors={})


@router.post("")
async def create_credentials(
    request: Request, session: Session, user: SignedIn, form: CheckedForm, keyring: KeyringDep
) -> Response:
    label, username = text(form, "label"), text(form, "username")
    kept = {"registry": text(form, "registry"), "expires_at": text(form, "expires_at")}
    try:
        data = CredentialCreate(
            label=label,
            username=username,
            password=text(form, "password"),
            registry=kept["registry"] or None,
            expires_at=kept["expires_at"] or None,
        )
        async with session.begin_nested():
            credential = await credential_service.create(
                session, actor=user.actor, data=data, keyring=keyring
            )
    except ValidationError as exc:
        invalid = forms.errors_of(exc)
        return _form(
            request, user, label=label, username=username, errors=invalid, status=422, **kept
        )
    except EdgedockError as exc:
        errors = forms.error_of(exc)
        if errors is None:
            raise
        return _form(
            request, user, label=label, username=username, errors=errors, status=exc.status, **kept
        )
    return web.redirect(
        request,
        f"/image-credentials/{credential.id}",
        flash=f"Image credentials “{credential.label}” created.",
    )


async def _detail(
    request: Request,
    session: AsyncSession,
    user: WebUser,
    credential_id: str,
    *,
    image: str = "",
    errors: forms.FieldErrors | None = None,
    status: int = 200,
    warning: timedelta,
) -> Response:
    tenant_id = user.actor.tenant_id
    credential = await credential_service.read_detail(
        session,
        tenant_id=tenant_id,
        credential_id=credentials_api.parse_id(credential_id),
        warning=warning,
    )
    events = await audit_service.search(
        session, tenant_id=tenant_id, filters=AuditFilter(credentials_id=credential.id), limit=20
    )
    context = {
        "c": credential,
        "events": events,
        "kind_names": KIND_NAMES,
        "check_image": image,
        "errors": errors or {},
    }
    return web.render(
        request, "credentials/detail.html", context, user=user, status=status, section=SECTION
    )


@router.get("/{credential_id}")
async def show_credentials(
    request: Request, credential_id: str, session: Session, user: SignedIn, warning: ExpiryWarning
) -> Response:
    return await _detail(request, session, user, credential_id, warning=warning)


@router.post("/{credential_id}/check")
async def check_credentials(
    request: Request,
    credential_id: str,
    state: State,
    user: BriefSignedIn,
    form: BriefCheckedForm,
    warning: ExpiryWarning,
) -> Response:
    """The Check button: no request-wide transaction, the check opens its own (checks.py)."""
    image = text(form, "image").strip()
    try:
        data = CheckRequest(image=image or None)
        result = await checks.check_credentials(
            state.database,
            actor=user.actor,
            keyring=state.keyring,
            insecure=state.settings.insecure_registry_rules,
            credential_id=credentials_api.parse_id(credential_id),
            image=data.image,
            transport=state.registry_transport,
        )
    except (ValidationError, EdgedockError) as exc:
        if isinstance(exc, EdgedockError) and exc.status != 422:
            raise
        if isinstance(exc, ValidationError):
            message = next(iter(forms.errors_of(exc).values()), "invalid image")
        else:
            message = exc.message
        errors = {"image": message}
        async with state.database.snapshot() as session:
            return await _detail(
                request,
                session,
                user,
                credential_id,
                image=image,
                errors=errors,
                status=422,
                warning=warning,
            )
    if result.ok:
        flash = f"The registry accepts these credentials for {result.image}."
        if result.can_push:
            flash += " They can also push: devices only need pull."
    else:
        flash = f"Check failed ({result.status}): {result.message}"
    return web.redirect(request, f"/image-credentials/{credential_id}", flash=flash)


async def _delete_page(
    request: Request, session: AsyncSession, user: WebUser, credential_id: str, error: str | None
) -> Response:
    credential = await credential_service.read_detail(
        session,
        tenant_id=user.actor.tenant_id,
        credential_id=credentials_api.parse_id(credential_id),
    )
    context = {"c": credential, "errors": {"confirm_label": error} if error else {}}
    status = 422 if error else 200
    return web.render(
        request, "credentials/delete.html", context, user=user, status=status, section=SECTION
    )


@router.get("/{credential_id}/delete")
async def confirm_delete_credentials(
    request: Request, credential_id: str, session: Session, user: SignedIn
) -> Response:
    return await _delete_page(request, session, user, credential_id, error=None)


@router.post("/{credential_id}/delete")
async def delete_credentials(
    request: Request, credential_id: str, session: Session, user: SignedIn, form: CheckedForm
) -> Response:
    """Typing the label is the UI's `force=true`: it confirms breaking the references shown."""
    credential = await credential_service.get(
        session,
        tenant_id=user.actor.tenant_id,
        credential_id=credentials_api.parse_id(credential_id),
    )
    if text(form, "confirm_label").strip() != credential.label:
        error = f"Type the label “{credential.label}” exactly to confirm."
        return await _delete_page(request, session, user, credential_id, error=error)
    await credential_service.delete(
        session, actor=user.actor, credential_id=credential.id, force=True
    )
    return web.redirect(
        request, "/image-credentials", flash=f"Image credentials “{credential.label}” deleted."
    )
