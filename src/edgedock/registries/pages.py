"""Web pages for brokered registries: list and broker, the configuration to paste, the bundle,
accounts (the secret shown once), revoke, delete."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.errors import EdgedockError
from edgedock.registries import accounts
from edgedock.registries import api as registries_api
from edgedock.registries import service as registry_service
from edgedock.registries.schemas import AccountCreate, RegistryCreate
from edgedock.server import forms, web
from edgedock.server.deps import Session, State
from edgedock.server.web_auth import CheckedForm, SignedIn, WebUser, text

router = APIRouter(prefix="/registries", include_in_schema=False)
SECTION = "registries"


async def _list(
    request: Request,
    session: AsyncSession,
    user: WebUser,
    public_url: str,
    *,
    host: str = "",
    service: str = "",
    errors: forms.FieldErrors | None = None,
    status: int = 200,
) -> Response:
    found = await registry_service.search(session, tenant_id=user.actor.tenant_id)
    context = {
        "registries": [
            registry_service.to_read(r, public_url=public_url, accounts=n) for r, n in found
        ],
        "host": host,
        "service": service,
        "errors": errors or {},
    }
    return web.render(
        request, "registries/list.html", context, user=user, status=status, section=SECTION
    )


@router.get("")
async def list_registries(
    request: Request, session: Session, user: SignedIn, state: State
) -> Response:
    return await _list(request, session, user, state.settings.public_url)


@router.post("")
async def create_registry(
    request: Request, session: Session, user: SignedIn, state: State, form: CheckedForm
) -> Response:
    host, service = text(form, "host"), text(form, "service").strip()
    try:
        data = RegistryCreate(host=host, service=service or None)
        async with session.begin_nested():
            registry = await registry_service.create(
                session, actor=user.actor, data=data, keyring=state.keyring
            )
    except ValidationError as exc:
        errors = forms.errors_of(exc)
        return await _list(
            request, session, user, state.settings.public_url,
            host=host, service=service, errors=errors, status=422,
        )  # fmt: skip
    except EdgedockError as exc:
        found = forms.error_of(exc)
        if found is None:
            raise
        return await _list(
            request, session, user, state.settings.public_url,
            host=host, service=service, errors=found, status=exc.status,
        )  # fmt: skip
    return web.redirect(
        request, f"/registries/{registry.id}", flash=f"Registry {registry.host} brokered."
    )


async def _detail(
    request: Request,
    session: AsyncSession,
    user: WebUser,
    public_url: str,
    registry_id: str,
    *,
    name: str = "",
    rules: str = "",
    errors: forms.FieldErrors | None = None,
    status: int = 200,
) -> Response:
    registry = await registry_service.get(
        session, tenant_id=user.actor.tenant_id, registry_id=registries_api.parse_id(registry_id)
    )
    rows = await accounts.search(session, registry=registry)
    context = {
        "r": registry_service.to_read(registry, public_url=public_url, accounts=len(rows)),
        "certificates": await registry_service.certificates(session, registry=registry),
        "accounts": [accounts.to_read(a) for a in rows],
        "name": name,
        "rules": rules,
        "errors": errors or {},
        "bundle_path": registry_service.BUNDLE_PATH,
    }
    return web.render(
        request, "registries/detail.html", context, user=user, status=status, section=SECTION
    )


@router.get("/{registry_id}")
async def show_registry(
    request: Request, registry_id: str, session: Session, user: SignedIn, state: State
) -> Response:
    return await _detail(request, session, user, state.settings.public_url, registry_id)


@router.get("/{registry_id}/bundle.pem")
async def download_bundle(registry_id: str, session: Session, user: SignedIn) -> Response:
    registry = await registry_service.get(
        session, tenant_id=user.actor.tenant_id, registry_id=registries_api.parse_id(registry_id)
    )
    certs = await registry_service.certificates(session, registry=registry)
    return Response(
        registry_service.bundle_pem(certs),
        media_type="application/x-pem-file",
        headers={"Content-Disposition": f'attachment; filename="{registry.host}-bundle.pem"'},
    )


def _rules(value: str) -> list[dict[str, object]]:
    """One `repository=actions` a line, as the CLI's --access takes them."""
    found: list[dict[str, object]] = []
    for line in value.splitlines():
        line = line.strip()
        if line:
            repository, _, actions = line.rpartition("=")
            found.append(
                {"repository": repository, "actions": [a.strip() for a in actions.split(",")]}
            )
    return found


@router.post("/{registry_id}/accounts")
async def create_account(
    request: Request,
    registry_id: str,
    session: Session,
    user: SignedIn,
    state: State,
    form: CheckedForm,
) -> Response:
    """Answers with the secret page itself (no redirect): the secret exists only here."""
    name, rules = text(form, "name"), text(form, "rules")
    registry = await registry_service.get(
        session, tenant_id=user.actor.tenant_id, registry_id=registries_api.parse_id(registry_id)
    )
    try:
        data = AccountCreate.model_validate({"name": name, "access": _rules(rules)})
        async with session.begin_nested():
            created = await accounts.create(session, actor=user.actor, registry=registry, data=data)
    except (ValidationError, EdgedockError) as exc:
        errors = forms.errors_of(exc) if isinstance(exc, ValidationError) else forms.error_of(exc)
        if errors is None:
            raise
        status = 422 if isinstance(exc, ValidationError) else exc.status
        return await _detail(
            request, session, user, state.settings.public_url, registry_id,
            name=name, rules=rules, errors=errors, status=status,
        )  # fmt: skip
    context = {"registry": registry, "account": created}
    return web.render(
        request, "registries/account_created.html", context, user=user, status=201,
        section=SECTION,
    )  # fmt: skip


@router.post("/{registry_id}/accounts/{account_id}/delete")
async def delete_account(
    request: Request,
    registry_id: str,
    account_id: str,
    session: Session,
    user: SignedIn,
    form: CheckedForm,
) -> Response:
    registry = await registry_service.get(
        session, tenant_id=user.actor.tenant_id, registry_id=registries_api.parse_id(registry_id)
    )
    account = forms.optional_uuid(account_id, field="account_id")
    if account is None:
        raise accounts.AccountNotFound(f"account {account_id} does not exist")
    await accounts.delete(session, actor=user.actor, registry=registry, account_id=account)
    return web.redirect(request, f"/registries/{registry.id}", flash="Account revoked.")


@router.post("/{registry_id}/delete")
async def delete_registry(
    request: Request,
    registry_id: str,
    session: Session,
    user: SignedIn,
    state: State,
    form: CheckedForm,
) -> Response:
    registry = await registry_service.get(
        session, tenant_id=user.actor.tenant_id, registry_id=registries_api.parse_id(registry_id)
    )
    if text(form, "confirm_host").strip() != registry.host:
        error = f"Type the host “{registry.host}” exactly to stop brokering it."
        return await _detail(
            request, session, user, state.settings.public_url, registry_id,
            errors={"confirm_host": error}, status=422,
        )  # fmt: skip
    await registry_service.delete(session, actor=user.actor, registry_id=registry.id)
    return web.redirect(request, "/registries", flash=f"Registry {registry.host} deleted.")
