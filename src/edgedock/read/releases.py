"""Stored releases as operators read them: credentials (or their tombstone) and warnings.

Split from service.py to keep each module one concept. Warnings are derived from the stored
release on every read rather than stored, so an answer, a page and a later look agree, and a
forced credentials delete shows up at once.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import container_spec
from edgedock.applications.models import Application
from edgedock.credentials.models import ImageCredential
from edgedock.read import brokered
from edgedock.releases.models import Release, ReleaseContainer
from edgedock.releases.schemas import ContainerRead, CredentialsRef, ReleaseRead, ReleaseWarning


async def to_read(
    session: AsyncSession, *, application: Application, releases: list[Release]
) -> list[ReleaseRead]:
    """Read models for `releases`, which must have their containers loaded."""
    ids = {
        c.image_credentials_id
        for r in releases
        for c in r.containers
        if c.image_credentials_id is not None
    }
    credentials: dict[uuid.UUID, ImageCredential] = {}
    if ids:
        rows = await session.scalars(select(ImageCredential).where(ImageCredential.id.in_(ids)))
        credentials = {c.id: c for c in rows.all()}
    hosts = await brokered.hosts(session, {application.tenant_id})
    items = []
    for release in releases:
        containers = [
            _container(c, credentials, hosts, tenant_id=application.tenant_id)
            for c in release.containers
        ]
        items.append(
            ReleaseRead(
                id=release.id,
                application_id=application.id,
                application=application.name,
                version=release.version,
                created_at=release.created_at,
                created_by=release.created_by,
                containers=containers,
                warnings=warnings(containers),
            )
        )
    return items


def _container(
    container: ReleaseContainer,
    credentials: dict[uuid.UUID, ImageCredential],
    hosts: brokered.Hosts,
    *,
    tenant_id: uuid.UUID,
) -> ContainerRead:
    via = brokered.registry_for(
        hosts,
        tenant_id=tenant_id,
        image_domain=container.image_domain,
        image_credentials_id=container.image_credentials_id,
    )
    return ContainerRead(
        brokered=via is not None and container.credentials_deleted_at is None,
        id=container.id,
        name=container.name,
        image=container.image,
        image_canonical=container.image_canonical,
        registry=container.image_domain,
        image_credentials_id=container.image_credentials_id,
        image_credentials=_credentials_ref(container, credentials),
        **container.settings,
    )


def _credentials_ref(
    container: ReleaseContainer, credentials: dict[uuid.UUID, ImageCredential]
) -> CredentialsRef | None:
    if container.credentials_deleted_at is not None:
        return CredentialsRef(
            id=None,
            label=container.credentials_label or "",
            deleted_at=container.credentials_deleted_at,
        )
    if container.image_credentials_id is None:
        return None
    credential = credentials.get(container.image_credentials_id)
    if credential is None:  # gone without a tombstone: only a tenant delete does that
        return CredentialsRef(id=None, label=container.credentials_label or "")
    return CredentialsRef(id=credential.id, label=credential.label, username=credential.username)


def warnings(containers: list[ContainerRead]) -> list[ReleaseWarning]:
    return [
        *_multiple_registries(containers),
        *_deleted_credentials(containers),
        *_host_port_conflicts(containers),
    ]


def _multiple_registries(containers: list[ContainerRead]) -> list[ReleaseWarning]:
    by_credentials: dict[uuid.UUID, list[ContainerRead]] = defaultdict(list)
    for c in containers:
        if c.image_credentials is not None and c.image_credentials.id is not None:
            by_credentials[c.image_credentials.id].append(c)
    found = []
    for cid, users in by_credentials.items():
        registries = sorted({c.registry for c in users})
        if len(registries) < 2:
            continue
        label = users[0].image_credentials.label if users[0].image_credentials else ""
        found.append(
            ReleaseWarning(
                code="credentials_multiple_registries",
                message=f"image credentials {label!r} are used with images from "
                f"{len(registries)} registries ({', '.join(registries)}): their password "
                "will be sent to each of them",
                containers=[c.name for c in users],
                credentials_id=cid,
            )
        )
    return found


def _deleted_credentials(containers: list[ContainerRead]) -> list[ReleaseWarning]:
    by_label: dict[str, list[str]] = defaultdict(list)
    for c in containers:
        if c.image_credentials is not None and c.image_credentials.id is None:
            by_label[c.image_credentials.label].append(c.name)
    return [
        ReleaseWarning(
            code="credentials_deleted",
            message=f"image credentials {label!r} were deleted: new pulls of "
            f"{', '.join(names)} will fail; make a new release with other credentials",
            containers=names,
        )
        for label, names in by_label.items()
    ]


def _host_port_conflicts(containers: list[ContainerRead]) -> list[ReleaseWarning]:
    """Two containers of one release binding the same host port cannot both start."""
    bound: dict[tuple[int, str], list[tuple[str, str | None]]] = defaultdict(list)
    for c in containers:
        if c.network_mode == "host":
            continue
        for text in c.port_bindings:
            try:
                binding = container_spec.parse_port_binding(text)
            except ValueError:  # stored under an older, looser grammar: no warning to derive
                continue
            if binding.host_port is not None:
                bound[binding.host_port, binding.protocol].append((c.name, binding.host_ip))
    found = []
    for (port, protocol), users in bound.items():
        names = sorted(
            {
                name
                for name, ip in users
                for other, other_ip in users
                if other != name and container_spec.overlapping(ip, other_ip)
            }
        )
        if names:
            found.append(
                ReleaseWarning(
                    code="host_port_conflict",
                    message=f"host port {port}/{protocol} is bound by {len(names)} containers "
                    f"({', '.join(names)}); only one of them can start",
                    containers=names,
                )
            )
    return found
