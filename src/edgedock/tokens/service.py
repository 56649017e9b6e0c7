"""Issuing, checking and revoking API tokens."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.actors import Actor
from edgedock.crypto import new_token, token_hash
from edgedock.db import utcnow
from edgedock.errors import Invalid, NotFound, Unauthorized
from edgedock.text import clean_name
from edgedock.tokens.models import ApiToken, WebSession

TOKEN_PREFIX = "edk"  # noqa: S105 - a public prefix, not a secret
# last_used_at is for people, not for security: refreshing it on every request would make
# every read a write, so it is refreshed at most once a minute.
_LAST_USED_RESOLUTION = timedelta(minutes=1)
# A web session ends this long after sign-in, whatever the browser does with its cookie.
SESSION_LIFETIME = timedelta(hours=12)


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
    row = await _active(session, token=token)
    return await _act_as(session, row)


async def _active(session: AsyncSession, *, token: str) -> ApiToken:
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        raise Unauthorized("the API token is not valid")
    return row


async def _act_as(session: AsyncSession, row: ApiToken) -> Actor:
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


async def start_session(session: AsyncSession, *, token: str) -> str:
    """Sign in with an API token; returns the session's secret, for the cookie only.

    The cookie then holds this secret, not the API token: a leaked cookie opens the pages
    for at most SESSION_LIFETIME, and signing out ends it everywhere.
    """
    row = await _active(session, token=token)
    now = utcnow()
    # Each sign-in adds a row; the token's ended sessions go at the same time.
    await session.execute(
        delete(WebSession).where(
            WebSession.token_id == row.id,
            or_(WebSession.expires_at <= now, WebSession.revoked_at.is_not(None)),
        )
    )
    secret = new_token("eds")
    session.add(
        WebSession(
            secret_hash=token_hash(secret),
            tenant_id=row.tenant_id,
            token_id=row.id,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    await session.flush()
    return secret


async def authenticate_session(session: AsyncSession, *, secret: str) -> Actor:
    """The actor of a live web session: not signed out, not expired, its token not revoked."""
    found = (
        await session.execute(
            select(WebSession, ApiToken)
            .join(ApiToken, ApiToken.id == WebSession.token_id)
            .where(WebSession.secret_hash == token_hash(secret))
        )
    ).first()
    if found is None:
        raise Unauthorized("the session is not valid: sign in again")
    web_session, token = found
    if web_session.revoked_at is not None or web_session.expires_at <= utcnow():
        raise Unauthorized("the session has ended: sign in again")
    if token.revoked_at is not None:
        raise Unauthorized("the API token of this session was revoked")
    return await _act_as(session, token)


async def end_session(session: AsyncSession, *, secret: str) -> None:
    await session.execute(
        update(WebSession)
        .where(WebSession.secret_hash == token_hash(secret), WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
