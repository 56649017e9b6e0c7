"""REST endpoint for the audit trail: read only, newest first, filtered and paginated."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from edgedock.audit import service as audit_service
from edgedock.audit.schemas import AuditEventRead, AuditFilter
from edgedock.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, Page
from edgedock.server.deps import CurrentActor, Session

router = APIRouter(prefix="/audit-events", tags=["audit"])


@router.get("")
async def search_audit_events(
    session: Session,
    actor: CurrentActor,
    credentials_id: uuid.UUID | None = None,
    device_id: uuid.UUID | None = None,
    resource_type: Annotated[str | None, Query(max_length=40)] = None,
    resource_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    since: Annotated[datetime | None, Query(description="From this time on (inclusive).")] = None,
    until: Annotated[datetime | None, Query(description="Before this time (exclusive).")] = None,
    limit: int = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> Page[AuditEventRead]:
    """Times without a zone are taken as UTC."""
    filters = AuditFilter(
        credentials_id=credentials_id,
        device_id=device_id,
        resource_type=resource_type,
        resource_id=resource_id,
        action=action,
        since=since,
        until=until,
    )
    return await audit_service.search(
        session, tenant_id=actor.tenant_id, filters=filters, limit=limit, cursor=cursor
    )
