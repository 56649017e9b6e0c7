"""REST endpoints for applications. Their releases live in edgedock.releases.api."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from edgedock.applications import service as application_service
from edgedock.applications.schemas import ApplicationCreate, ApplicationRead
from edgedock.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, Page
from edgedock.server.deps import CurrentActor, Session

router = APIRouter(prefix="/applications", tags=["applications"])


def parse_id(value: str) -> uuid.UUID:
    """An id that is not even a UUID does not exist either: 404, never 422."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise application_service.ApplicationNotFound(
            f"application {value} does not exist"
        ) from None


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_application(
    data: ApplicationCreate, session: Session, actor: CurrentActor
) -> ApplicationRead:
    application = await application_service.create(session, actor=actor, data=data)
    return application_service.to_read(application)


@router.get("")
async def search_applications(
    session: Session,
    actor: CurrentActor,
    q: Annotated[str | None, Query(max_length=200)] = None,
    name: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Exactly this name (case-insensitively): at most one application.",
        ),
    ] = None,
    limit: int = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> Page[ApplicationRead]:
    return await application_service.search(
        session, tenant_id=actor.tenant_id, q=q, name=name, limit=limit, cursor=cursor
    )


@router.get("/{application_id}")
async def get_application(
    application_id: str, session: Session, actor: CurrentActor
) -> ApplicationRead:
    return await application_service.read(
        session, tenant_id=actor.tenant_id, application_id=parse_id(application_id)
    )


@router.delete("/{application_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_application(
    application_id: str, session: Session, actor: CurrentActor
) -> Response:
    """Deletes the application and its releases; 409 while any of its releases is deployed."""
    await application_service.delete(session, actor=actor, application_id=parse_id(application_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
