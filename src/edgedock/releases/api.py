"""REST endpoints for releases. There is no update: PUT and PATCH answer 405."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from edgedock.applications import api as applications_api
from edgedock.applications import service as application_service
from edgedock.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, Page
from edgedock.releases import service as release_service
from edgedock.releases.schemas import ReleaseCreate, ReleaseRead
from edgedock.server.deps import CurrentActor, Session

# Releases are created and listed under their application, and addressed on their own after.
application_releases = APIRouter(
    prefix="/applications/{application_id}/releases", tags=["releases"]
)
router = APIRouter(prefix="/releases", tags=["releases"])

VersionFilter = Annotated[
    str | None,
    Query(max_length=100, pattern=r"^[0-9A-Za-z.+-]+$", description="Exactly this version."),
]


def parse_id(value: str) -> uuid.UUID:
    """An id that is not even a UUID does not exist either: 404, never 422."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise release_service.ReleaseNotFound(f"release {value} does not exist") from None


@application_releases.post("", status_code=status.HTTP_201_CREATED)
async def create_release(
    application_id: str, data: ReleaseCreate, session: Session, actor: CurrentActor
) -> ReleaseRead:
    """One transaction: the release and all its containers are created, or nothing is."""
    application = await application_service.get(
        session, tenant_id=actor.tenant_id, application_id=applications_api.parse_id(application_id)
    )
    release = await release_service.create(session, actor=actor, application=application, data=data)
    return await release_service.read(session, release=release)


@application_releases.get("")
async def search_releases(
    application_id: str,
    session: Session,
    actor: CurrentActor,
    version: VersionFilter = None,
    limit: int = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> Page[ReleaseRead]:
    """Newest first."""
    application = await application_service.get(
        session, tenant_id=actor.tenant_id, application_id=applications_api.parse_id(application_id)
    )
    return await release_service.search(
        session, application=application, version=version, limit=limit, cursor=cursor
    )


@router.get("")
async def search_tenant_releases(
    session: Session,
    actor: CurrentActor,
    version: VersionFilter = None,
    limit: int = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> Page[ReleaseRead]:
    """Every application's releases, newest first; with `version`, those of that version."""
    return await release_service.search_tenant(
        session, tenant_id=actor.tenant_id, version=version, limit=limit, cursor=cursor
    )


@router.get("/{release_id}")
async def get_release(release_id: str, session: Session, actor: CurrentActor) -> ReleaseRead:
    release = await release_service.get(
        session, tenant_id=actor.tenant_id, release_id=parse_id(release_id)
    )
    return await release_service.read(session, release=release)


@router.delete("/{release_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_release(release_id: str, session: Session, actor: CurrentActor) -> Response:
    """409 while the release is deployed."""
    await release_service.delete(session, actor=actor, release_id=parse_id(release_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{release_id}", status_code=405)
@router.patch("/{release_id}", status_code=405)
async def update_release(release_id: str, session: Session, actor: CurrentActor) -> None:
    """Releases are immutable: this always answers 405; a change is a new release."""
    await release_service.get(session, tenant_id=actor.tenant_id, release_id=parse_id(release_id))
    raise release_service.ReleaseImmutable(release_service.IMMUTABLE_ADVICE)
