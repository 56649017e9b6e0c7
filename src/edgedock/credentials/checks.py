"""Checking credentials against their registry: stored ones by id, and new ones before creation.

A check calls out to a registry that may take seconds to answer (up to
`registry_check.TOTAL_TIMEOUT`). So it never runs inside a transaction: the sealed secret is
read and opened in one short read-only unit of work, the probe runs with no transaction open,
and the result is written in a second short one. Held open across the network call, the
transaction would keep SQLite's only writer (and a PostgreSQL connection and row lock) busy
for as long as the registry cares to take.
"""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import crypto
from edgedock.actors import Actor
from edgedock.audit import service as audit_service
from edgedock.credentials import registry_check
from edgedock.credentials import service as credential_service
from edgedock.credentials.models import ImageCredential
from edgedock.credentials.registry_check import CheckResult
from edgedock.credentials.schemas import CheckRead, CredentialCreate
from edgedock.db import Database
from edgedock.errors import Invalid
from edgedock.insecure_registries import InsecureRegistries


class CheckNeedsImage(Invalid):
    code = "check_needs_image"


class RegistryRefused(Invalid):
    """Creating credentials with `check`: the registry refused them, so nothing was stored."""

    code = "registry_refused"


async def check_credentials(
    database: Database,
    *,
    actor: Actor,
    keyring: crypto.Keyring,
    insecure: InsecureRegistries,
    credential_id: uuid.UUID,
    image: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> CheckResult:
    """Check stored credentials against `image` (default: the image they were last used for, else
    the login alone on their bound registry), store the result on them and audit it.
    Raises `CredentialNotFound` and `CheckNeedsImage`.

    Opens its own units of work: call it with no transaction open.
    """
    async with database.snapshot() as session:
        credential = await credential_service.get(
            session, tenant_id=actor.tenant_id, credential_id=credential_id
        )
        username = credential.username
        bound_registry = credential.bound_registry
        password = credential_service.reveal(credential, keyring=keyring)
        image = image or await default_image(
            session, tenant_id=actor.tenant_id, credential_id=credential_id
        )
    if image is None and bound_registry is None:
        raise CheckNeedsImage(
            "these credentials have not been used with an image yet: give the image to check "
            "them against",
            field="image",
        )
    result = await registry_check.check(
        username=username,
        password=password,
        image=image,
        registry=bound_registry,
        insecure=insecure,
        transport=transport,
    )
    async with database.transaction() as session:
        credential = await credential_service.get(
            session, tenant_id=actor.tenant_id, credential_id=credential_id
        )
        await record(session, actor=actor, credential=credential, result=result)
    return result


async def default_image(
    session: AsyncSession, *, tenant_id: uuid.UUID, credential_id: uuid.UUID
) -> str | None:
    """The image a device last pulled with the credentials, else one a release names them for."""
    for pulled in await credential_service.pulled_by(
        session, tenant_id=tenant_id, credential_id=credential_id
    ):
        if pulled.image:
            return pulled.image
    used = await credential_service.references(
        session, tenant_id=tenant_id, credential_id=credential_id
    )
    return used[-1].image if used else None


async def probe_new(
    data: CredentialCreate,
    *,
    insecure: InsecureRegistries,
    transport: httpx.AsyncBaseTransport | None = None,
) -> CheckResult | None:
    """For a create with `check`: the result, or `RegistryRefused` when the registry refuses."""
    if data.check is None:
        return None
    if data.check.image is None:
        raise CheckNeedsImage("check.image is required to check new credentials", field="image")
    result = await registry_check.check(
        username=data.username,
        password=data.password.get_secret_value(),
        image=data.check.image,
        insecure=insecure,
        transport=transport,
    )
    if not result.ok:
        raise RegistryRefused(
            f"the registry refused these credentials for {result.image}: {result.message} "
            f"({result.status}); nothing was stored",
            field="check.image",
            details={"check": to_read(result).model_dump(mode="json")},
        )
    return result


async def record(
    session: AsyncSession, *, actor: Actor, credential: ImageCredential, result: CheckResult
) -> None:
    """Store the result as the credentials' health and audit it (never the secret: the message
    was scrubbed by the check)."""
    credential.last_check_at = result.checked_at
    credential.last_check_ok = result.ok
    credential.last_check_status = result.status
    credential.last_check_message = result.message
    credential.last_check_image = result.image
    credential.last_check_registry = result.registry or None
    credential.can_push = result.can_push
    await session.flush()
    outcome = "accepted" if result.ok else f"refused ({result.status})"
    await audit_service.record(
        session,
        actor=actor,
        action="credentials.checked",
        resource_type="image_credentials",
        resource_id=credential.id,
        credentials_id=credential.id,
        summary=f"checked image credentials {credential.label!r} against "
        f"{result.image or result.registry}: {outcome}",
        details={
            "ok": result.ok,
            "status": result.status,
            "image": result.image,
            "registry": result.registry,
            "message": result.message,
            "granted": list(result.granted),
            "can_push": result.can_push,
        },
    )


def to_read(result: CheckResult) -> CheckRead:
    return CheckRead(
        ok=result.ok,
        registry=result.registry,
        scheme=result.scheme,
        image=result.image,
        checked_at=result.checked_at,
        status=result.status,
        message=result.message,
        granted=list(result.granted),
        can_push=result.can_push,
    )
