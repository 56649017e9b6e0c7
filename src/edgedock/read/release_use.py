"""Which releases keep credentials in use: those deployed on a device, or their application's
highest version. Read for rotation (credentials replace) and for the credentials delete guard.

Older releases that nobody runs and nobody would deploy next still name old credentials after a
rotation; they are history, not use, and deleting the credentials only tombstones them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import versions
from edgedock.applications.models import Application
from edgedock.deployments.models import Deployment
from edgedock.devices.models import Device
from edgedock.releases.models import Release, ReleaseContainer


@dataclass(frozen=True, slots=True)
class DeployedOn:
    deployment_id: uuid.UUID
    device_id: uuid.UUID
    device: str


@dataclass(slots=True)
class ReleaseUse:
    """A release that uses the credentials and is deployed, or is the highest version."""

    release_id: uuid.UUID
    application_id: uuid.UUID
    application: str
    version: str
    highest: bool
    # The containers that use the credentials, and the images they pull.
    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    registries: set[str] = field(default_factory=set)
    deployments: list[DeployedOn] = field(default_factory=list)


async def applications_using(
    session: AsyncSession, *, tenant_id: uuid.UUID, credential_id: uuid.UUID
) -> list[uuid.UUID]:
    """Every application with a release that names the credentials, in id order (lock order)."""
    stmt = (
        select(Release.application_id)
        .join(ReleaseContainer, ReleaseContainer.release_id == Release.id)
        .where(
            Release.tenant_id == tenant_id, ReleaseContainer.image_credentials_id == credential_id
        )
        .distinct()
    )
    return sorted(set((await session.scalars(stmt)).all()))


async def highest_releases(
    session: AsyncSession, *, application_ids: list[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """Each application's highest release by semver precedence (ties: the later created)."""
    if not application_ids:
        return {}
    stmt = select(Release.application_id, Release.id, Release.version, Release.created_at).where(
        Release.application_id.in_(application_ids)
    )
    best: dict[uuid.UUID, tuple[tuple[versions.PrecedenceKey, datetime], uuid.UUID]] = {}
    for app_id, release_id, version, created_at in (await session.execute(stmt)).all():
        key = (versions.precedence(version), created_at)
        if app_id not in best or key > best[app_id][0]:
            best[app_id] = (key, release_id)
    return {app_id: release_id for app_id, (_, release_id) in best.items()}


async def versions_of(
    session: AsyncSession, *, application_ids: list[uuid.UUID]
) -> dict[uuid.UUID, set[str]]:
    """The versions each application already has (a successor must take a free one)."""
    found: dict[uuid.UUID, set[str]] = defaultdict(set)
    if application_ids:
        stmt = select(Release.application_id, Release.version).where(
            Release.application_id.in_(application_ids)
        )
        for app_id, version in (await session.execute(stmt)).all():
            found[app_id].add(version)
    return found


async def current_uses(
    session: AsyncSession, *, tenant_id: uuid.UUID, credential_id: uuid.UUID
) -> list[ReleaseUse]:
    """The releases naming the credentials that are deployed or their application's highest,
    ordered by application name and version."""
    rows = (
        await session.execute(
            select(ReleaseContainer, Release, Application.name, Application.name_key)
            .join(Release, ReleaseContainer.release_id == Release.id)
            .join(Application, Release.application_id == Application.id)
            .where(
                Release.tenant_id == tenant_id,
                ReleaseContainer.image_credentials_id == credential_id,
            )
            .order_by(ReleaseContainer.position)
        )
    ).all()
    if not rows:
        return []
    highest = await highest_releases(
        session, application_ids=sorted({release.application_id for _, release, _, _ in rows})
    )
    deployed = await _deployments_of(session, release_ids={release.id for _, release, _, _ in rows})
    uses: dict[uuid.UUID, ReleaseUse] = {}
    sort_keys: dict[uuid.UUID, tuple[str, versions.PrecedenceKey]] = {}
    for container, release, app_name, app_key in rows:
        is_highest = highest.get(release.application_id) == release.id
        if not is_highest and release.id not in deployed:
            continue
        use = uses.get(release.id)
        if use is None:
            use = uses[release.id] = ReleaseUse(
                release_id=release.id,
                application_id=release.application_id,
                application=app_name,
                version=release.version,
                highest=is_highest,
                deployments=deployed.get(release.id, []),
            )
            sort_keys[release.id] = (app_key, versions.precedence(release.version))
        use.containers.append(container.name)
        use.images.append(container.image)
        use.registries.add(container.image_domain)
    return sorted(uses.values(), key=lambda u: sort_keys[u.release_id])


async def in_use_counts(
    session: AsyncSession, *, tenant_id: uuid.UUID, credential_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """For each of the credentials, how many containers of deployed or highest releases use
    them (the count `current_uses` would list), in three queries whatever the number."""
    counts = dict.fromkeys(credential_ids, 0)
    if not credential_ids:
        return counts
    rows = (
        await session.execute(
            select(ReleaseContainer.image_credentials_id, Release.id, Release.application_id)
            .join(Release, ReleaseContainer.release_id == Release.id)
            .where(
                Release.tenant_id == tenant_id,
                ReleaseContainer.image_credentials_id.in_(credential_ids),
            )
        )
    ).all()
    if not rows:
        return counts
    highest = set(
        (await highest_releases(session, application_ids=sorted({a for _, _, a in rows}))).values()
    )
    deployed = set(
        (
            await session.scalars(
                select(Deployment.release_id)
                .where(Deployment.release_id.in_({r for _, r, _ in rows}))
                .distinct()
            )
        ).all()
    )
    for credential_id, release_id, _ in rows:
        if credential_id is not None and (release_id in highest or release_id in deployed):
            counts[credential_id] += 1
    return counts


async def _deployments_of(
    session: AsyncSession, *, release_ids: set[uuid.UUID]
) -> dict[uuid.UUID, list[DeployedOn]]:
    stmt = (
        select(Deployment.release_id, Deployment.id, Device.id, Device.name)
        .join(Device, Deployment.device_id == Device.id)
        .where(Deployment.release_id.in_(release_ids))
        .order_by(Device.name_key, Deployment.id)
    )
    found: dict[uuid.UUID, list[DeployedOn]] = defaultdict(list)
    for release_id, deployment_id, device_id, device in (await session.execute(stmt)).all():
        found[release_id].append(DeployedOn(deployment_id, device_id, device))
    return found


async def registries_used_with(
    session: AsyncSession, *, tenant_id: uuid.UUID, credential_id: uuid.UUID
) -> set[str]:
    """The registry domains of every release container that names the credentials."""
    stmt = (
        select(ReleaseContainer.image_domain)
        .join(Release, ReleaseContainer.release_id == Release.id)
        .where(
            Release.tenant_id == tenant_id, ReleaseContainer.image_credentials_id == credential_id
        )
        .distinct()
    )
    return set((await session.scalars(stmt)).all())


async def lock_applications(session: AsyncSession, *, application_ids: list[uuid.UUID]) -> None:
    """Lock applications for update, in id order, until the transaction ends.

    Release creates and deploys hold a shared lock on their application, so while these are
    held nobody can add a release or a deployment to them: what was read about their highest
    versions and deployments stays true. Taken before the credentials row, the order in which
    release creates take theirs (application, then credentials). SQLite renders no FOR UPDATE:
    its writer queue already runs one transaction at a time.
    """
    if application_ids:
        stmt = (
            select(Application.id)
            .where(Application.id.in_(application_ids))
            .order_by(Application.id)
            .with_for_update()
        )
        await session.execute(stmt)


async def lock_releases_and_deployments(
    session: AsyncSession, *, application_ids: list[uuid.UUID]
) -> None:
    """Keep the applications' releases from being deleted (FOR SHARE) and their deployments
    from being upgraded or deleted (FOR UPDATE) until the transaction ends."""
    if not application_ids:
        return
    await session.execute(
        select(Release.id)
        .where(Release.application_id.in_(application_ids))
        .order_by(Release.id)
        .with_for_update(read=True)
    )
    await session.execute(
        select(Deployment.id)
        .where(Deployment.application_id.in_(application_ids))
        .order_by(Deployment.id)
        .with_for_update()
    )
