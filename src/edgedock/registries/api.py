"""REST endpoints for brokered registries and their accounts, and the registry's realm."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Header, Query, Response, status

from edgedock.registries import accounts, issuing
from edgedock.registries import service as registry_service
from edgedock.registries.models import BrokeredRegistry
from edgedock.registries.schemas import (
    AccountCreate,
    AccountCreated,
    AccountRead,
    RegistryCreate,
    RegistryRead,
    SigningCertificate,
)
from edgedock.server.deps import CurrentActor, Session, State

router = APIRouter(prefix="/registries", tags=["brokered registries"])
realm = APIRouter(prefix="/registry/v1", tags=["registry token service"])


def parse_id(value: str) -> uuid.UUID:
    """An id that is not even a UUID does not exist either: 404, never 422."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise registry_service.RegistryNotFound(f"registry {value} does not exist") from None


async def _registry(session: Session, actor: CurrentActor, registry_id: str) -> BrokeredRegistry:
    return await registry_service.get(
        session, tenant_id=actor.tenant_id, registry_id=parse_id(registry_id)
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_registry(
    data: RegistryCreate, session: Session, actor: CurrentActor, state: State
) -> RegistryRead:
    """Broker a registry: the answer holds the realm, service and issuer to configure."""
    registry = await registry_service.create(session, actor=actor, data=data, keyring=state.keyring)
    return registry_service.to_read(registry, public_url=state.settings.public_url)


@router.get("")
async def search_registries(
    session: Session, actor: CurrentActor, state: State
) -> dict[str, list[RegistryRead]]:
    found = await registry_service.search(session, tenant_id=actor.tenant_id)
    return {
        "items": [
            registry_service.to_read(r, public_url=state.settings.public_url, accounts=n)
            for r, n in found
        ]
    }


@router.get("/{registry_id}")
async def get_registry(
    registry_id: str, session: Session, actor: CurrentActor, state: State
) -> RegistryRead:
    registry = await _registry(session, actor, registry_id)
    count = len(await accounts.search(session, registry=registry))
    return registry_service.to_read(registry, public_url=state.settings.public_url, accounts=count)


@router.delete("/{registry_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_registry(registry_id: str, session: Session, actor: CurrentActor) -> Response:
    await registry_service.delete(session, actor=actor, registry_id=parse_id(registry_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{registry_id}/certificates")
async def get_certificates(
    registry_id: str, session: Session, actor: CurrentActor
) -> list[SigningCertificate]:
    """The signing certificates with their key ids (libtrust fingerprint, JWK thumbprint)."""
    registry = await _registry(session, actor, registry_id)
    return await registry_service.certificates(session, registry=registry)


@router.get("/{registry_id}/bundle.pem", response_class=Response)
async def get_bundle(registry_id: str, session: Session, actor: CurrentActor) -> Response:
    """The registry's `rootcertbundle`: the previous, current and next certificate (PEM)."""
    registry = await _registry(session, actor, registry_id)
    certs = await registry_service.certificates(session, registry=registry)
    return Response(
        registry_service.bundle_pem(certs),
        media_type="application/x-pem-file",
        headers={"Content-Disposition": f'attachment; filename="{registry.host}-bundle.pem"'},
    )


@router.post("/{registry_id}/accounts", status_code=status.HTTP_201_CREATED)
async def create_account(
    registry_id: str, data: AccountCreate, session: Session, actor: CurrentActor
) -> AccountCreated:
    """The secret is in this answer only; it is stored as a hash."""
    registry = await _registry(session, actor, registry_id)
    return await accounts.create(session, actor=actor, registry=registry, data=data)


@router.get("/{registry_id}/accounts")
async def search_accounts(
    registry_id: str, session: Session, actor: CurrentActor
) -> dict[str, list[AccountRead]]:
    registry = await _registry(session, actor, registry_id)
    return {
        "items": [accounts.to_read(a) for a in await accounts.search(session, registry=registry)]
    }


@router.delete("/{registry_id}/accounts/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_account(
    registry_id: str, account_id: str, session: Session, actor: CurrentActor
) -> Response:
    registry = await _registry(session, actor, registry_id)
    try:
        parsed = uuid.UUID(account_id)
    except ValueError:
        raise accounts.AccountNotFound(f"account {account_id} does not exist") from None
    await accounts.delete(session, actor=actor, registry=registry, account_id=parsed)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@realm.get("/{registry_id}/token")
async def get_token(
    registry_id: str,
    state: State,
    service: Annotated[str | None, Query(max_length=255)] = None,
    scope: Annotated[list[str] | None, Query()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Docker's token protocol: Basic auth with a pull secret or an account secret."""
    answer = await issuing.issue(
        state.database,
        state.audit,
        state.registry_signers,
        request=issuing.TokenRequest(
            registry_id=registry_id,
            public_url=state.settings.public_url,
            service=service,
            scopes=scope or [],
            login=issuing.basic_login(authorization),
            ttl=state.settings.registry_token_ttl_seconds,
        ),
    )
    return _json(answer)


@realm.post("/{registry_id}/token")
async def post_token(
    registry_id: str,
    state: State,
    grant_type: Annotated[str, Form(max_length=40)],
    service: Annotated[str | None, Form(max_length=255)] = None,
    scope: Annotated[str | None, Form(max_length=4000)] = None,
    username: Annotated[str | None, Form(max_length=255)] = None,
    password: Annotated[str | None, Form(max_length=1000)] = None,
    client_id: Annotated[str | None, Form(max_length=255)] = None,
) -> Response:
    """The OAuth2 form (`grant_type=password`); refresh tokens are not handed out."""
    if grant_type != "password":
        raise issuing.TokenRequestInvalid(
            "grant_type must be password (no refresh tokens are issued)", field="grant_type"
        )
    login = issuing.Login(username, password) if username and password else None
    answer = await issuing.issue(
        state.database,
        state.audit,
        state.registry_signers,
        request=issuing.TokenRequest(
            registry_id=registry_id,
            public_url=state.settings.public_url,
            service=service,
            scopes=[scope] if scope else [],
            login=login,
            ttl=state.settings.registry_token_ttl_seconds,
        ),
    )
    return _json(answer)


def _json(answer: dict[str, object]) -> Response:
    return Response(json.dumps(answer), media_type="application/json", headers=_NO_STORE)
