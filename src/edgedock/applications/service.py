"""Applications: create, find, search, and delete (with their releases, unless deployed)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.actors import Actor
from edgedock.applications.models import Application
from edgedock.applications.schemas import ApplicationCreate, ApplicationRead
from edgedock.audit import service as audit_service
from edgedock.db import find_owned, insert_unique, lock_owned
from edgedock.errors import Conflict, NotFound
from edgedock.pagination import Keyset, Page, SortKey, matching, named
from edgedock.read import in_use
from edgedock.releases import service as release_service
from edgedock.text import fold

ORDER = Keyset(
    "applications", (SortKey(Application.name_key, "str"), SortKey(Application.id, "uuid"))
)


class ApplicationNotFound(NotFound):
    code = "application_not_found"


class DuplicateName(Conflict):
    code = "duplicate_name"


class ApplicationDeployed(Conflict):
    code = "application_deployed"


class ApplicationChanged(Conflict):
    code = "application_changed"


def to_read(application: Application, *, release_count: int = 0) -> ApplicationRead:
    return ApplicationRead(
        id=application.id,
        name=application.name,
        description=application.description,
        created_at=application.created_at,
        release_count=release_count,
    )


async def create(session: AsyncSession, *, actor: Actor, data: ApplicationCreate) -> Application:
    duplicate = DuplicateName(f"an application named {data.name!r} already exists", field="name")
    name_key = fold(data.name)
    if await _name_taken(session, tenant_id=actor.tenant_id, name_key=name_key):
        raise duplicate
    application = Application(
        id=uuid.uuid4(),
        tenant_id=actor.tenant_id,
        name=data.name,
        name_key=name_key,
        description=data.description,
    )
    await insert_unique(session, application, duplicate=duplicate)
    await audit_service.record(
        session,
        actor=actor,
        action="applications.created",
        resource_type="application",
        resource_id=application.id,
        summary=f"created application {application.name!r}",
        details={"name": application.name},
    )
    return application


async def _name_taken(session: AsyncSession, *, tenant_id: uuid.UUID, name_key: str) -> bool:
    stmt = select(Application.id).where(
        Application.tenant_id == tenant_id, Application.name_key == name_key
    )
    return (await session.scalar(stmt)) is not None


async def find(
    session: AsyncSession, *, tenant_id: uuid.UUID, application_id: uuid.UUID
) -> Application | None:
    return await find_owned(session, Application, tenant_id=tenant_id, row_id=application_id)


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, application_id: uuid.UUID
) -> Application:
    application = await find(session, tenant_id=tenant_id, application_id=application_id)
    if application is None:
        raise ApplicationNotFound(f"application {application_id} does not exist")
    return application


async def read(
    session: AsyncSession, *, tenant_id: uuid.UUID, application_id: uuid.UUID
) -> ApplicationRead:
    application = await get(session, tenant_id=tenant_id, application_id=application_id)
    counts = await release_service.counts(session, application_ids=[application.id])
    return to_read(application, release_count=counts.get(application.id, 0))


async def search(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    q: str | None = None,
    name: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[ApplicationRead]:
    """Ordered by name, case-insensitively; `q` matches name or description, `name` is exact."""
    stmt = select(Application).where(Application.tenant_id == tenant_id)
    stmt = matching(stmt, q, Application.name_key, func.lower(Application.description))
    stmt = named(stmt, name, Application.name_key, field="name")
    stmt = ORDER.apply(stmt, cursor=cursor, limit=limit)
    page, next_cursor = ORDER.split((await session.scalars(stmt)).all(), limit=limit)
    counts = await release_service.counts(session, application_ids=[a.id for a in page])
    return Page[ApplicationRead](
        items=[to_read(a, release_count=counts.get(a.id, 0)) for a in page],
        next_cursor=next_cursor,
    )


async def delete(session: AsyncSession, *, actor: Actor, application_id: uuid.UUID) -> None:
    """Delete the application and all its releases, or nothing while any release is deployed.

    Locked first: release creates and deploys hold a shared lock on the application, so they
    either finish before this delete looks (and are seen) or find the application gone.
    """
    application = await lock_owned(
        session, Application, tenant_id=actor.tenant_id, row_id=application_id
    )
    if application is None:
        raise ApplicationNotFound(f"application {application_id} does not exist")
    name = f"application {application.name!r}"
    deployments = await in_use.deployments(session, application_id=application.id)
    if deployments:
        raise ApplicationDeployed(
            f"{name} is {in_use.describe(deployments)}", details=in_use.details(deployments)
        )
    versions = await release_service.delete_all(session, application=application)
    try:
        async with session.begin_nested():
            await session.delete(application)
            await session.flush()
    except IntegrityError as exc:
        # A release created concurrently, after delete_all: its foreign key refuses the delete.
        raise ApplicationChanged(f"{name} just got a new release; try again") from exc
    await audit_service.record(
        session,
        actor=actor,
        action="applications.deleted",
        resource_type="application",
        resource_id=application.id,
        summary=f"deleted {name}" + (f" and its {len(versions)} release(s)" if versions else ""),
        details={"name": application.name, "releases": versions},
    )
