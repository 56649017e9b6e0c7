"""REST endpoints for image credentials. There is no update: PUT and PATCH answer 405."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from edgedock.credentials import checks
from edgedock.credentials import service as credential_service
from edgedock.credentials.deps import ExpiryWarning
from edgedock.credentials.schemas import (
    CheckRead,
    CheckRequest,
    CredentialCreate,
    CredentialRead,
    ExpiryState,
)
from edgedock.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, Page
from edgedock.server.deps import BriefActor, CurrentActor, Session, State

router = APIRouter(prefix="/image-credentials", tags=["image credentials"])


def parse_id(value: str) -> uuid.UUID:
    """An id that is not even a UUID does not exist either: 404, never 422."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise credential_service.CredentialNotFound(
            f"image credentials {value} do not exist"
        ) from None


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_credentials(
    data: CredentialCreate, state: State, actor: BriefActor, warning: ExpiryWarning
) -> CredentialRead:
    """With `check`, the registry is asked first (outside any transaction, see checks.py)."""
    checked = await checks.probe_new(
        data, insecure=state.settings.insecure_registry_rules, transport=state.registry_transport
    )
    async with state.database.transaction() as session:
        credential = await credential_service.create(
            session, actor=actor, data=data, keyring=state.keyring
        )
        if checked is not None:
            await checks.record(session, actor=actor, credential=credential, result=checked)
    return credential_service.to_read(credential, used_by=[], pulled_by=[], warning=warning)


@router.post("/{credential_id}/check")
async def check_credentials(
    credential_id: str, state: State, actor: BriefActor, data: CheckRequest | None = None
) -> CheckRead:
    """Ask the registry whether it accepts the credentials, and for pull on the image."""
    result = await checks.check_credentials(
        state.database,
        actor=actor,
        keyring=state.keyring,
        insecure=state.settings.insecure_registry_rules,
        credential_id=parse_id(credential_id),
        image=data.image if data is not None else None,
        transport=state.registry_transport,
    )
    return checks.to_read(result)


@router.get("")
async def search_credentials(
    session: Session,
    actor: CurrentActor,
    warning: ExpiryWarning,
    q: Annotated[str | None, Query(max_length=200)] = None,
    label: Annotated[
        str | None,
        Query(max_length=200, description="Exactly this label (case-insensitively): at most one."),
    ] = None,
    state: Annotated[
        ExpiryState | None,
        Query(description="expiring, expired, or valid (neither; also no known expiry)"),
    ] = None,
    limit: int = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> Page[CredentialRead]:
    return await credential_service.search(
        session,
        tenant_id=actor.tenant_id,
        q=q,
        label=label,
        state=state,
        limit=limit,
        cursor=cursor,
        warning=warning,
    )


@router.get("/{credential_id}")
async def get_credentials(
    credential_id: str, session: Session, actor: CurrentActor, warning: ExpiryWarning
) -> CredentialRead:
    return await credential_service.read_detail(
        session, tenant_id=actor.tenant_id, credential_id=parse_id(credential_id), warning=warning
    )


@router.delete("/{credential_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_credentials(
    credential_id: str, session: Session, actor: CurrentActor, force: bool = False
) -> Response:
    await credential_service.delete(
        session, actor=actor, credential_id=parse_id(credential_id), force=force
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{credential_id}", status_code=405, include_in_schema=True)
@router.patch("/{credential_id}", status_code=405, include_in_schema=True)
async def update_credentials(credential_id: str, session: Session, actor: CurrentActor) -> None:
    """Image credentials are immutable: this always answers 405 with how to rotate them."""
    await credential_service.get(
        session, tenant_id=actor.tenant_id, credential_id=parse_id(credential_id)
    )
    raise credential_service.CredentialsImmutable(credential_service.ROTATION_ADVICE)
