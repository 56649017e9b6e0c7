"""Annotated dependency aliases shared by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.actors import Actor
from edgedock.crypto import Keyring
from edgedock.errors import Unauthorized
from edgedock.notify import Notifier
from edgedock.server.state import ServerState
from edgedock.tokens import service as token_service


# Dependencies are `async def` even when they do not await: FastAPI runs a plain `def`
# dependency in its thread pool, a thread hand-off per request on the device API's hot path.
async def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.edgedock
    return state


State = Annotated[ServerState, Depends(server_state)]


async def get_session(state: State) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent.

    Declared with scope="function" below: under FastAPI's default scope the code after `yield`
    runs after the response has gone out, so a failing commit would follow a 201.
    """
    async with state.database.transaction() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_keyring(state: State) -> Keyring:
    return state.keyring


async def get_notifier(state: State) -> Notifier:
    return state.notifier


KeyringDep = Annotated[Keyring, Depends(get_keyring)]
NotifierDep = Annotated[Notifier, Depends(get_notifier)]

_bearer = HTTPBearer(auto_error=False)


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _api_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("an API token is required: Authorization: Bearer <token>")
    return credentials.credentials


async def current_actor(session: Session, credentials: BearerCredentials) -> Actor:
    return await token_service.authenticate(session, token=_api_token(credentials))


CurrentActor = Annotated[Actor, Depends(current_actor)]


async def brief_actor(state: State, credentials: BearerCredentials) -> Actor:
    """The actor, authenticated in its own short unit of work and not the request's.

    For routes that call out over the network (a credentials check asks a registry): they open
    their own transactions around the call, and must not sit inside one held for the request.
    """
    token = _api_token(credentials)
    async with state.database.transaction() as session:
        return await token_service.authenticate(session, token=token)


BriefActor = Annotated[Actor, Depends(brief_actor)]
