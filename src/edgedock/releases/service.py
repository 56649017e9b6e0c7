"""Releases: create (one transaction for the release and all its containers), read, delete.

There is no update: a release is immutable, and a change is a new release with a new version.
The application is loaded by the caller and passed in, so that applications → releases stays
the only edge between the two services (deleting an application deletes its releases here).
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from edgedock import references
from edgedock.actors import Actor
from edgedock.applications.models import Application
from edgedock.audit import service as audit_service
from edgedock.credentials import service as credential_service
from edgedock.credentials.models import ImageCredential
from edgedock.db import lock_owned, lock_shared
from edgedock.errors import Conflict, MethodNotAllowed, NotFound
from edgedock.pagination import Keyset, Page, SortKey
from edgedock.read import in_use
from edgedock.read import releases as reading
from edgedock.releases.models import Release, ReleaseContainer
from edgedock.releases.schemas import ContainerCreate, ReleaseCreate, ReleaseRead

ORDER = Keyset(
    "releases",
    (SortKey(Release.created_at, "datetime"), SortKey(Release.id, "uuid")),
    descending=True,
)
IMMUTABLE_ADVICE = (
    "releases are immutable: to change anything, create a new release with a new version"
)


class ReleaseNotFound(NotFound):
    code = "release_not_found"


class DuplicateVersion(Conflict):
    code = "duplicate_version"


class ReleaseDeployed(Conflict):
    code = "release_deployed"


class ReleaseImmutable(MethodNotAllowed):
    code = "release_immutable"


class ApplicationDeleted(NotFound):
    """The application was deleted while a release was being made for it.

    Raised here, not as the applications service's own error: that service calls this one.
    """

    code = "application_not_found"


async def create(
    session: AsyncSession, *, actor: Actor, application: Application, data: ReleaseCreate
) -> Release:
    """The release and its containers, one flush; the application and every credentials it
    names are locked against deletion until the commit (see db.lock_shared), application first,
    the order in which deletes take them.
    """
    duplicate = DuplicateVersion(
        f"application {application.name!r} already has a release {data.version}", field="version"
    )
    await _lock_application(session, application=application)
    if await _version_taken(session, application_id=application.id, version=data.version):
        raise duplicate
    credentials = await _referenced_credentials(session, tenant_id=actor.tenant_id, data=data)
    release = Release(
        id=uuid.uuid4(),
        tenant_id=actor.tenant_id,
        application_id=application.id,
        version=data.version,
        created_by=actor.name,
        containers=[
            _container(position, spec, credentials) for position, spec in enumerate(data.containers)
        ],
    )
    try:
        # Added inside the savepoint: begin_nested() flushes what is pending before the
        # SAVEPOINT, and a violation there would break the request's whole transaction.
        async with session.begin_nested():
            session.add(release)
            await session.flush()
    except IntegrityError as exc:
        # Two concurrent creates can both pass the check above; the constraint decides. Any
        # other violation is a bug, not a duplicate: it goes on as it is. (The savepoint's
        # rollback has expunged the release, so the query below does not flush it again.)
        if await _version_taken(session, application_id=application.id, version=data.version):
            raise duplicate from exc
        raise
    await _audit_created(session, actor=actor, application=application, release=release)
    return release


async def _lock_application(session: AsyncSession, *, application: Application) -> None:
    if not await lock_shared(session, Application, [application.id]):
        raise ApplicationDeleted(f"application {application.id} does not exist")


async def _version_taken(session: AsyncSession, *, application_id: uuid.UUID, version: str) -> bool:
    stmt = select(Release.id).where(
        Release.application_id == application_id, Release.version == version
    )
    return (await session.scalar(stmt)) is not None


async def _referenced_credentials(
    session: AsyncSession, *, tenant_id: uuid.UUID, data: ReleaseCreate
) -> dict[uuid.UUID, ImageCredential]:
    """Load each referenced credentials; another tenant's id is as absent as an unknown one.
    Credentials bound to a registry are refused for an image on another one (422, before
    anything is written).

    Locked, so that a concurrent delete cannot strip them from the containers being written.
    """
    wanted = {s.image_credentials_id for s in data.containers if s.image_credentials_id}
    present = await lock_shared(session, ImageCredential, wanted)
    found: dict[uuid.UUID, ImageCredential] = {}
    for i, spec in enumerate(data.containers):
        cid = spec.image_credentials_id
        if cid is None or cid in found:
            continue
        credential = (
            await credential_service.find(session, tenant_id=tenant_id, credential_id=cid)
            if cid in present
            else None
        )
        if credential is None:
            raise credential_service.CredentialNotFound(
                f"image credentials {cid} do not exist",
                field=f"containers[{i}].image_credentials_id",
            )
        found[cid] = credential
    for i, spec in enumerate(data.containers):
        if spec.image_credentials_id is not None:
            credential_service.check_registry(
                found[spec.image_credentials_id],
                image=spec.image,
                domain=references.parse(spec.image).domain,
                field=f"containers[{i}].image",
            )
    return found


def _container(
    position: int, spec: ContainerCreate, credentials: dict[uuid.UUID, ImageCredential]
) -> ReleaseContainer:
    pull = references.pull_reference(spec.image)
    credential = credentials.get(spec.image_credentials_id) if spec.image_credentials_id else None
    return ReleaseContainer(
        id=uuid.uuid4(),
        position=position,
        name=spec.name,
        image=spec.image,
        image_canonical=pull.canonical,
        image_domain=pull.domain,
        image_credentials_id=spec.image_credentials_id,
        # Snapshot the label now: a forced delete later still lets pulls name what is gone.
        credentials_label=credential.label if credential else None,
        settings=spec.stored(),
    )


async def _audit_created(
    session: AsyncSession, *, actor: Actor, application: Application, release: Release
) -> None:
    """One `releases.created`, plus one `releases.credentials_referenced` per credentials.

    The second kind carries `credentials_id`, so filtering the trail by credentials finds every
    release that uses them, however many credentials a release references. Env and command are
    left out: operators do put secrets there.
    """
    by_credentials: dict[uuid.UUID, list[ReleaseContainer]] = {}
    for c in release.containers:
        if c.image_credentials_id is not None:
            by_credentials.setdefault(c.image_credentials_id, []).append(c)
    name = f"release {release.version} of {application.name!r}"
    await audit_service.record(
        session,
        actor=actor,
        action="releases.created",
        resource_type="release",
        resource_id=release.id,
        summary=f"created {name} with {len(release.containers)} container(s)",
        details={
            "application_id": str(application.id),
            "application": application.name,
            "version": release.version,
            "credentials_ids": [str(cid) for cid in by_credentials],
            "containers": [
                {
                    "name": c.name,
                    "image": c.image,
                    "registry": c.image_domain,
                    "image_credentials_id": _str(c.image_credentials_id),
                }
                for c in release.containers
            ],
        },
    )
    for cid, containers in by_credentials.items():
        label = containers[0].credentials_label
        await audit_service.record(
            session,
            actor=actor,
            action="releases.credentials_referenced",
            resource_type="release",
            resource_id=release.id,
            credentials_id=cid,
            summary=f"{name} uses image credentials {label!r} for "
            + ", ".join(f"{c.name} ({c.image})" for c in containers),
            details={
                "application": application.name,
                "version": release.version,
                "label": label,
                "containers": [c.name for c in containers],
                "registries": sorted({c.image_domain for c in containers}),
            },
        )


def _str(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


async def find(
    session: AsyncSession, *, tenant_id: uuid.UUID, release_id: uuid.UUID
) -> Release | None:
    stmt = (
        select(Release)
        .where(Release.id == release_id, Release.tenant_id == tenant_id)
        .options(selectinload(Release.containers))
    )
    return await session.scalar(stmt)


async def get(session: AsyncSession, *, tenant_id: uuid.UUID, release_id: uuid.UUID) -> Release:
    release = await find(session, tenant_id=tenant_id, release_id=release_id)
    if release is None:
        raise ReleaseNotFound(f"release {release_id} does not exist")
    return release


async def read(session: AsyncSession, *, release: Release) -> ReleaseRead:
    application = await session.get(Application, release.application_id)
    assert application is not None  # the foreign key guarantees it
    (item,) = await reading.to_read(session, application=application, releases=[release])
    return item


async def search(
    session: AsyncSession,
    *,
    application: Application,
    version: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[ReleaseRead]:
    """An application's releases, newest first; `version` is exact."""
    stmt = (
        select(Release)
        .where(Release.application_id == application.id)
        .options(selectinload(Release.containers))
    )
    if version is not None:
        stmt = stmt.where(Release.version == version)
    stmt = ORDER.apply(stmt, cursor=cursor, limit=limit)
    page, next_cursor = ORDER.split((await session.scalars(stmt)).all(), limit=limit)
    items = await reading.to_read(session, application=application, releases=page)
    return Page[ReleaseRead](items=items, next_cursor=next_cursor)


async def search_tenant(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    version: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[ReleaseRead]:
    """Every application's releases, newest first: how a bare version finds its release(s)."""
    stmt = (
        select(Release)
        .where(Release.tenant_id == tenant_id)
        .options(selectinload(Release.containers))
    )
    if version is not None:
        stmt = stmt.where(Release.version == version)
    stmt = ORDER.apply(stmt, cursor=cursor, limit=limit)
    page, next_cursor = ORDER.split((await session.scalars(stmt)).all(), limit=limit)
    applications = {
        a.id: a
        for a in await session.scalars(
            select(Application).where(Application.id.in_({r.application_id for r in page}))
        )
    }
    by_id: dict[uuid.UUID, ReleaseRead] = {}
    for application_id, application in applications.items():
        mine = [r for r in page if r.application_id == application_id]
        for item in await reading.to_read(session, application=application, releases=mine):
            by_id[item.id] = item
    return Page[ReleaseRead](items=[by_id[r.id] for r in page], next_cursor=next_cursor)


async def counts(
    session: AsyncSession, *, application_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not application_ids:
        return {}
    stmt = (
        select(Release.application_id, func.count())
        .where(Release.application_id.in_(application_ids))
        .group_by(Release.application_id)
    )
    return {aid: n for aid, n in (await session.execute(stmt)).all()}


async def delete(session: AsyncSession, *, actor: Actor, release_id: uuid.UUID) -> None:
    """Refused while deployed. Locked first: a concurrent deploy (which holds a shared lock on
    the release) is then either seen by the check below or finds the release gone.
    """
    release = await lock_owned(session, Release, tenant_id=actor.tenant_id, row_id=release_id)
    if release is None:
        raise ReleaseNotFound(f"release {release_id} does not exist")
    application = await session.get(Application, release.application_id)
    assert application is not None
    name = f"release {release.version} of {application.name!r}"
    deployments = await in_use.deployments(session, release_id=release.id)
    if deployments:
        raise ReleaseDeployed(
            f"{name} is {in_use.describe(deployments)}", details=in_use.details(deployments)
        )
    await _delete_rows(session, release_ids=[release.id], what=name)
    await audit_service.record(
        session,
        actor=actor,
        action="releases.deleted",
        resource_type="release",
        resource_id=release.id,
        summary=f"deleted {name}",
        details={
            "application_id": str(application.id),
            "application": application.name,
            "version": release.version,
        },
    )


async def delete_all(session: AsyncSession, *, application: Application) -> list[str]:
    """Delete every release of `application`; the caller has checked for deployments."""
    rows = (
        await session.execute(
            select(Release.id, Release.version)
            .where(Release.application_id == application.id)
            .order_by(Release.created_at)
        )
    ).all()
    await _delete_rows(
        session, release_ids=[rid for rid, _ in rows], what=f"application {application.name!r}"
    )
    return [version for _, version in rows]


async def _delete_rows(session: AsyncSession, *, release_ids: list[uuid.UUID], what: str) -> None:
    if not release_ids:
        return
    try:
        async with session.begin_nested():
            await session.execute(
                sql_delete(ReleaseContainer).where(ReleaseContainer.release_id.in_(release_ids))
            )
            await session.execute(sql_delete(Release).where(Release.id.in_(release_ids)))
    except IntegrityError as exc:
        # A deployment made concurrently, after the check: the foreign key refuses the delete.
        raise ReleaseDeployed(f"{what} was just deployed; delete that deployment first") from exc
