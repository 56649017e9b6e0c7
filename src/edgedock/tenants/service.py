"""Creating and finding tenants."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.crypto import Keyring, Sealed, generate_key
from edgedock.db import insert_unique
from edgedock.errors import Conflict, EdgedockError, Invalid, NotFound
from edgedock.tenants.models import Tenant

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class TenantNotFound(NotFound):
    code = "tenant_not_found"


class DuplicateTenant(Conflict):
    code = "duplicate_tenant"


def fingerprint_context(tenant_id: uuid.UUID) -> str:
    return f"tenant:{tenant_id}:fingerprint-key"


async def create(session: AsyncSession, *, slug: str, keyring: Keyring) -> Tenant:
    if not SLUG.match(slug):
        raise Invalid(
            "tenant slug must be 1-63 lower-case letters, digits or inner hyphens", field="slug"
        )
    tenant = Tenant(id=uuid.uuid4(), slug=slug)
    sealed = keyring.seal(generate_key(), context=fingerprint_context(tenant.id))
    tenant.fingerprint_key_id, tenant.fingerprint_key = sealed.key_id, sealed.blob
    await insert_unique(
        session, tenant, duplicate=DuplicateTenant(f"tenant {slug!r} already exists", field="slug")
    )
    return tenant


async def find_by_slug(session: AsyncSession, *, slug: str) -> Tenant | None:
    return await session.scalar(select(Tenant).where(Tenant.slug == slug))


async def get_by_slug(session: AsyncSession, *, slug: str) -> Tenant:
    tenant = await find_by_slug(session, slug=slug)
    if tenant is None:
        raise TenantNotFound(f"tenant {slug!r} does not exist", field="slug")
    return tenant


async def get(session: AsyncSession, *, tenant_id: uuid.UUID) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise TenantNotFound(f"tenant {tenant_id} does not exist")
    return tenant


async def fingerprint_key(
    session: AsyncSession, *, tenant_id: uuid.UUID, keyring: Keyring
) -> bytes:

    tenant = await get(session, tenant_id=tenant_id)
    return keyring.open(
        Sealed(tenant.fingerprint_key_id, tenant.fingerprint_key),
        context=fingerprint_context(tenant.id),
    )


async def search(session: AsyncSession) -> list[Tenant]:
    return list((await session.scalars(select(Tenant).order_by(Tenant.slug))).all())


async def rotate_fingerprint_keys(session: AsyncSession, *, keyring: Keyring) -> int:
    moved = 0
    stmt = select(Tenant).where(Tenant.fingerprint_key_id != keyring.current_id)
    for tenant in (await session.scalars(stmt)).all():
        context = fingerprint_context(tenant.id)
        plaintext = keyring.open(
            Sealed(tenant.fingerprint_key_id, tenant.fingerprint_key), context=context
        )
        sealed = keyring.seal(plaintext, context=context)
        tenant.fingerprint_key_id, tenant.fingerprint_key = sealed.key_id, sealed.blob
        moved += 1
    return moved


async def key_ids_in_use(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Tenant.fingerprint_key_id).distinct())).all())


async def verify_keys(session: AsyncSession, *, keyring: Keyring) -> None:
    """Open one sealed value per key id in use, so a missing or wrong key fails at start-up."""
    from edgedock.errors import ConfigurationError

    seen: set[str] = set()
    for tenant in (await session.scalars(select(Tenant))).all():
        if tenant.fingerprint_key_id in seen:
            continue
        seen.add(tenant.fingerprint_key_id)
        if tenant.fingerprint_key_id not in keyring.key_ids:
            raise ConfigurationError(
                f"secret key {tenant.fingerprint_key_id!r} is used by stored secrets but is not "
                "in the keyring (EDGEDOCK_SECRET_KEYS or the key file)"
            )
        try:
            keyring.open(
                Sealed(tenant.fingerprint_key_id, tenant.fingerprint_key),
                context=fingerprint_context(tenant.id),
            )
        except EdgedockError as exc:
            raise ConfigurationError(
                f"secret key {tenant.fingerprint_key_id!r} does not open the stored secrets: "
                "it is not the key they were sealed with"
            ) from exc
