"""The audit log page: newest first, filtered by credentials, device, action and time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.audit import service as audit_service
from edgedock.audit.schemas import AuditFilter
from edgedock.credentials import service as credential_service
from edgedock.devices import service as device_service
from edgedock.pagination import MAX_CURSOR_LENGTH
from edgedock.server import forms, web
from edgedock.server.deps import Session
from edgedock.server.web_auth import SignedIn

router = APIRouter(prefix="/audit", include_in_schema=False)

ACTIONS = (
    "credentials.created",
    "credentials.deleted",
    "applications.created",
    "applications.deleted",
    "releases.created",
    "releases.credentials_referenced",
    "releases.deleted",
    "devices.created",
    "devices.deleted",
    "devices.token_reissued",
    "deployments.created",
    "deployments.start",
    "deployments.stop",
    "deployments.upgraded",
    "deployments.deleted",
    "registry_auth.issued",
    "pull.failed",
    "pull.succeeded",
)


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    text: str


async def _options(
    session: AsyncSession, *, tenant_id: uuid.UUID, filters: AuditFilter
) -> tuple[list[Option], list[Option]]:
    """Credentials and devices to filter by; a deleted one stays pickable by its id."""
    credentials = await credential_service.search(session, tenant_id=tenant_id, limit=200)
    devices = await device_service.search(session, tenant_id=tenant_id, limit=200)
    by_credentials = [Option(str(c.id), f"{c.label} ({c.username})") for c in credentials.items]
    by_device = [Option(str(d.id), d.name) for d in devices.items]
    for chosen, options in (
        (filters.credentials_id, by_credentials),
        (filters.device_id, by_device),
    ):
        if chosen is not None and all(o.value != str(chosen) for o in options):
            options.append(Option(str(chosen), f"{chosen} (deleted)"))
    return by_credentials, by_device


def _next_url(chosen: dict[str, str], cursor: str | None) -> str | None:
    if cursor is None:
        return None
    return "/audit?" + urlencode({**{k: v for k, v in chosen.items() if v}, "cursor": cursor})


@router.get("")
async def show_audit_log(
    request: Request,
    session: Session,
    user: SignedIn,
    credentials_id: Annotated[str | None, Query(max_length=64)] = None,
    device_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> Response:
    """Times come from `datetime-local` inputs and are read as UTC, as they are shown."""
    tenant_id = user.actor.tenant_id
    filters = AuditFilter(
        credentials_id=forms.optional_uuid(credentials_id, field="credentials_id"),
        device_id=forms.optional_uuid(device_id, field="device_id"),
        action=action or None,
        since=forms.optional_time(since, field="since"),
        until=forms.optional_time(until, field="until"),
    )
    page = await audit_service.search(
        session, tenant_id=tenant_id, filters=filters, limit=50, cursor=cursor or None
    )
    by_credentials, by_device = await _options(session, tenant_id=tenant_id, filters=filters)
    chosen = {
        "credentials_id": credentials_id or "",
        "device_id": device_id or "",
        "action": action or "",
        "since": since or "",
        "until": until or "",
    }
    context = {
        "page": page,
        "chosen": chosen,
        "credentials": by_credentials,
        "devices": by_device,
        "actions": ACTIONS,
        "filtered": any(chosen.values()),
        "next_url": _next_url(chosen, page.next_cursor),
    }
    return web.render(request, "audit/list.html", context, user=user, section="audit")
