"""Brokered registries: register one, read what to paste into its configuration, delete it;
and the life of its signing keys (created with it, rotated by `edgedock keys rotate`)."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import crypto, notify
from edgedock.actors import Actor
from edgedock.audit import service as audit_service
from edgedock.db import find_owned, insert_unique
from edgedock.errors import ConfigurationError, Conflict, NotFound
from edgedock.read import brokered
from edgedock.registries import signing_keys
from edgedock.registries.models import BrokeredRegistry, RegistryAccount, RegistrySigningKey
from edgedock.registries.schemas import RegistryCreate, RegistryRead, SigningCertificate


class RegistryNotFound(NotFound):
    code = "registry_not_found"


class DuplicateRegistry(Conflict):
    code = "duplicate_registry"


def realm_url(public_url: str, registry_id: uuid.UUID) -> str:
    return f"{public_url}/registry/v1/{registry_id}/token"


# Where the README and the configuration snippet suggest keeping the downloaded bundle.
BUNDLE_PATH = "/etc/docker/registry/edgedock-bundle.pem"


def configuration(*, realm: str, service: str, issuer: str) -> str:
    """The `auth:` section of the registry's config.yml (Distribution, the Debian package).

    Values are JSON strings, which YAML reads as they are, whatever characters they hold.
    """
    return (
        "auth:\n"
        "  token:\n"
        f"    realm: {json.dumps(realm)}\n"
        f"    service: {json.dumps(service)}\n"
        f"    issuer: {json.dumps(issuer)}\n"
        f"    rootcertbundle: {json.dumps(BUNDLE_PATH)}\n"
    )


def to_read(registry: BrokeredRegistry, *, public_url: str, accounts: int = 0) -> RegistryRead:
    realm = realm_url(public_url, registry.id)
    return RegistryRead(
        id=registry.id,
        host=registry.host,
        service=registry.service,
        issuer=registry.issuer,
        realm=realm,
        bundle_url=f"{public_url}/api/v1/registries/{registry.id}/bundle.pem",
        configuration=configuration(realm=realm, service=registry.service, issuer=registry.issuer),
        created_at=registry.created_at,
        created_by=registry.created_by,
        accounts=accounts,
    )


async def create(
    session: AsyncSession, *, actor: Actor, data: RegistryCreate, keyring: crypto.Keyring
) -> BrokeredRegistry:
    duplicate = DuplicateRegistry(
        f"registry {data.host} is already brokered by this tenant", field="host"
    )
    taken = await session.scalar(
        select(BrokeredRegistry.id).where(
            BrokeredRegistry.tenant_id == actor.tenant_id, BrokeredRegistry.host == data.host
        )
    )
    if taken is not None:
        raise duplicate
    registry_id = uuid.uuid4()
    registry = BrokeredRegistry(
        id=registry_id,
        tenant_id=actor.tenant_id,
        host=data.host,
        service=data.service or data.host,
        issuer=f"edgedock/{registry_id}",
        current_generation=1,
        created_by=actor.name,
    )
    await insert_unique(session, registry, duplicate=duplicate)
    for generation in (1, 2):  # the current key, and the next one published ahead
        _add_key(session, registry, generation=generation, keyring=keyring)
    await session.flush()
    await _mark_devices(session, registry)
    await audit_service.record(
        session,
        actor=actor,
        action="registries.created",
        resource_type="registry",
        resource_id=registry.id,
        summary=f"brokered registry {registry.host} (service {registry.service!r})",
        details={"host": registry.host, "service": registry.service, "issuer": registry.issuer},
    )
    return registry


def _add_key(
    session: AsyncSession, registry: BrokeredRegistry, *, generation: int, keyring: crypto.Keyring
) -> RegistrySigningKey:
    new = signing_keys.generate(common_name=f"edgedock {registry.host} #{generation}")
    row = RegistrySigningKey(
        id=uuid.uuid4(),
        tenant_id=registry.tenant_id,
        registry_id=registry.id,
        generation=generation,
        certificate=new.certificate_pem,
        kid=new.kid,
    )
    sealed = keyring.seal(new.private_der, context=row.aad)
    row.secret_key_id, row.secret = sealed.key_id, sealed.blob
    session.add(row)
    return row


async def _mark_devices(session: AsyncSession, registry: BrokeredRegistry) -> None:
    """Their desired state changes (brokered containers now need a registry auth)."""
    for device_id in await brokered.devices_pulling_from(
        session, tenant_id=registry.tenant_id, host=registry.host
    ):
        notify.mark(session, device_id)


async def find(
    session: AsyncSession, *, tenant_id: uuid.UUID, registry_id: uuid.UUID
) -> BrokeredRegistry | None:
    return await find_owned(session, BrokeredRegistry, tenant_id=tenant_id, row_id=registry_id)


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, registry_id: uuid.UUID
) -> BrokeredRegistry:
    registry = await find(session, tenant_id=tenant_id, registry_id=registry_id)
    if registry is None:
        raise RegistryNotFound(f"registry {registry_id} does not exist")
    return registry


async def search(
    session: AsyncSession, *, tenant_id: uuid.UUID
) -> list[tuple[BrokeredRegistry, int]]:
    """Every brokered registry of the tenant (a handful), with its number of accounts."""
    counts = (
        select(RegistryAccount.registry_id, func.count().label("n"))
        .group_by(RegistryAccount.registry_id)
        .subquery()
    )
    rows = await session.execute(
        select(BrokeredRegistry, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.registry_id == BrokeredRegistry.id)
        .where(BrokeredRegistry.tenant_id == tenant_id)
        .order_by(BrokeredRegistry.host)
    )
    return [(registry, int(n)) for registry, n in rows.all()]


async def delete(session: AsyncSession, *, actor: Actor, registry_id: uuid.UUID) -> None:
    """Forget the registry, its keys, accounts and pull secrets: its tokens stop at expiry."""
    registry = await get(session, tenant_id=actor.tenant_id, registry_id=registry_id)
    await _mark_devices(session, registry)
    await session.delete(registry)
    await session.flush()
    await audit_service.record(
        session,
        actor=actor,
        action="registries.deleted",
        resource_type="registry",
        resource_id=registry.id,
        summary=f"stopped brokering registry {registry.host}",
        details={"host": registry.host},
    )


async def certificates(
    session: AsyncSession, *, registry: BrokeredRegistry
) -> list[SigningCertificate]:
    """The bundle: previous (if any), current and next certificate, oldest first."""
    rows = await session.scalars(
        select(RegistrySigningKey)
        .where(RegistrySigningKey.registry_id == registry.id)
        .order_by(RegistrySigningKey.generation)
    )
    roles = {
        registry.current_generation - 1: "previous",
        registry.current_generation: "current",
        registry.current_generation + 1: "next",
    }
    return [
        SigningCertificate(
            generation=row.generation,
            role=roles.get(row.generation, "retired"),
            kid=row.kid,
            jwk_thumbprint=signing_keys.jwk_thumbprint(row.certificate),
            certificate=row.certificate,
        )
        for row in rows.all()
    ]


def bundle_pem(certs: list[SigningCertificate]) -> str:
    return "".join(c.certificate for c in certs)


async def rotate_keys(session: AsyncSession, *, keyring: crypto.Keyring) -> int:
    """`keys rotate`: every registry's next key becomes current, a new next key is made, the
    old current stays in the bundle as previous, older ones are dropped; and every signing key
    is sealed under the keyring's current key. Returns how many keys were (re)sealed.

    Tokens signed before (previous) and after (current, published ahead as next) both verify
    with the bundle the registry already holds.
    """
    registries = (await session.scalars(select(BrokeredRegistry).with_for_update())).all()
    sealed = 0
    for registry in registries:
        registry.current_generation += 1
        _add_key(session, registry, generation=registry.current_generation + 1, keyring=keyring)
        sealed += 1
        await session.execute(
            sql_delete(RegistrySigningKey).where(
                RegistrySigningKey.registry_id == registry.id,
                RegistrySigningKey.generation < registry.current_generation - 1,
            )
        )
    await session.flush()
    current = keyring.current_id
    stale = await session.scalars(
        select(RegistrySigningKey).where(RegistrySigningKey.secret_key_id != current)
    )
    for row in stale.all():
        plaintext = keyring.open(crypto.Sealed(row.secret_key_id, row.secret), context=row.aad)
        resealed = keyring.seal(plaintext, context=row.aad)
        row.secret_key_id, row.secret = resealed.key_id, resealed.blob
        sealed += 1
    await session.flush()
    return sealed


async def key_ids_in_use(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(RegistrySigningKey.secret_key_id).distinct())).all())


async def verify_keys(session: AsyncSession, *, keyring: crypto.Keyring) -> None:
    """Start-up check, as for credentials: one signing key per keyring key id must open."""
    for key_id in sorted(await key_ids_in_use(session)):
        if key_id not in keyring.key_ids:
            raise ConfigurationError(
                f"secret key {key_id!r} is used by registry signing keys but is not in the "
                "keyring (EDGEDOCK_SECRET_KEYS or the key file)"
            )
        sample = await session.scalar(
            select(RegistrySigningKey).where(RegistrySigningKey.secret_key_id == key_id).limit(1)
        )
        assert sample is not None
        try:
            keyring.open(crypto.Sealed(sample.secret_key_id, sample.secret), context=sample.aad)
        except crypto.SecretUndecryptable as exc:
            raise ConfigurationError(
                f"secret key {key_id!r} does not open the registry signing keys"
            ) from exc
