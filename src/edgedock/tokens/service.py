"""Issuing, checking and revoking API tokens."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.actors import Actor
from edgedock.crypto import new_token, token_hash
from edgedock.db import utcnow
from edgedock.errors import Invalid, NotFound, Unauthorized
from edgedock.text import clean_name
from edgedock.tokens.models import ApiToken

TOKEN_PREFIX = "edk"  # noqa: S105 - a public prefix, not a secret
# last_used_at is for people, not for security: refreshing it on every request would make
# every read a write, so it is refreshed at most once a minute.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenNotFound(NotFound):
    code = "token_not_found"


async def create(
    session: AsyncSession, *, tenant_id: uuid.UUID, name: str = "admin"
) -> tuple[ApiToken, str]:
    """Returns the row and the token; the token is not kept and cannot be shown again."""
    try:
        name = clean_name(name, what="token name", max_length=100, key_max_length=None)
    except ValueError as exc:
        raise Invalid(str(exc), field="name") from exc
    plaintext = new_token(TOKEN_PREFIX)
    token = ApiToken(tenant_id=tenant_id, name=name, token_hash=token_hash(plaintext))
    session.add(token)
    await session.flush()
    return token, plaintext


async def authenticate(session: AsyncSession, *, token: str) -> Actor:
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        raise Unauthorized("the API token is not valid")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_RESOLUTION:
        await session.execute(
            update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now)
        )
    return Actor(tenant_id=row.tenant_id, name=f"token:{row.name}")


async def search(session: AsyncSession, *, tenant_id: uuid.UUID) -> list[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.tenant_id == tenant_id).order_by(ApiToken.created_at)
    return list((await session.scalars(stmt)).all())


async def revoke(session: AsyncSession, *, tenant_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken:
    row = await session.get(ApiToken, token_id)
    if row is None or row.tenant_id != tenant_id:
        raise TokenNotFound(f"token {token_id} does not exist")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()
    return row
