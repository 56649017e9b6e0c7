"""Registry accounts for people and CI: a login name, a secret shown once, access rules.

`docker login <registry>` with the name and secret, then push and pull as the rules allow:
the engine exchanges them at edgedock's realm for a token, as for any token-auth registry.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.actors import Actor
from edgedock.audit import service as audit_service
from edgedock.crypto import new_token, token_hash
from edgedock.db import insert_unique
from edgedock.errors import Conflict, NotFound
from edgedock.registries.models import BrokeredRegistry, RegistryAccount
from edgedock.registries.schemas import AccessRule, AccountCreate, AccountCreated, AccountRead

PREFIX = "edra"


class AccountNotFound(NotFound):
    code = "registry_account_not_found"


class DuplicateAccount(Conflict):
    code = "duplicate_registry_account"


def to_read(account: RegistryAccount) -> AccountRead:
    return AccountRead(
        id=account.id,
        registry_id=account.registry_id,
        name=account.name,
        access=[AccessRule.model_validate(rule) for rule in account.access],
        created_at=account.created_at,
        created_by=account.created_by,
    )


async def create(
    session: AsyncSession, *, actor: Actor, registry: BrokeredRegistry, data: AccountCreate
) -> AccountCreated:
    duplicate = DuplicateAccount(
        f"registry {registry.host} already has an account named {data.name!r}", field="name"
    )
    taken = await session.scalar(
        select(RegistryAccount.id).where(
            RegistryAccount.registry_id == registry.id, RegistryAccount.name == data.name
        )
    )
    if taken is not None:
        raise duplicate
    secret = new_token(PREFIX)
    access: list[dict[str, Any]] = [rule.model_dump() for rule in data.access]
    account = RegistryAccount(
        tenant_id=registry.tenant_id,
        registry_id=registry.id,
        name=data.name,
        secret_hash=token_hash(secret),
        access=access,
        created_by=actor.name,
    )
    await insert_unique(session, account, duplicate=duplicate)
    await audit_service.record(
        session,
        actor=actor,
        action="registry_accounts.created",
        resource_type="registry",
        resource_id=registry.id,
        summary=f"created account {account.name!r} on registry {registry.host}",
        details={"account": account.name, "access": access},
    )
    return AccountCreated(**to_read(account).model_dump(), secret=secret)


async def search(session: AsyncSession, *, registry: BrokeredRegistry) -> list[RegistryAccount]:
    rows = await session.scalars(
        select(RegistryAccount)
        .where(RegistryAccount.registry_id == registry.id)
        .order_by(RegistryAccount.name)
    )
    return list(rows.all())


async def delete(
    session: AsyncSession, *, actor: Actor, registry: BrokeredRegistry, account_id: uuid.UUID
) -> None:
    """Revoke: the secret stops working at once; tokens already issued live out their minutes."""
    account = await session.scalar(
        select(RegistryAccount).where(
            RegistryAccount.id == account_id, RegistryAccount.registry_id == registry.id
        )
    )
    if account is None:
        raise AccountNotFound(f"account {account_id} does not exist on registry {registry.host}")
    await session.delete(account)
    await session.flush()
    await audit_service.record(
        session,
        actor=actor,
        action="registry_accounts.deleted",
        resource_type="registry",
        resource_id=registry.id,
        summary=f"revoked account {account.name!r} on registry {registry.host}",
        details={"account": account.name},
    )


async def find_by_secret(
    session: AsyncSession, *, registry_id: uuid.UUID, secret: str
) -> RegistryAccount | None:
    return await session.scalar(
        select(RegistryAccount).where(
            RegistryAccount.secret_hash == token_hash(secret),
            RegistryAccount.registry_id == registry_id,
        )
    )
