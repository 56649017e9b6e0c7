"""Database outages: the deadlines that make them show fast, and how they are recognised.

A database that is down, refuses connections or silently drops them must become a quick
503 (`DatabaseUnavailable`), never a hang and never a 500. This module holds the engine
options that bound every wait, the test of whether an exception means an outage, and the
translation applied once, at the unit-of-work boundary in `edgedock.db`.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from edgedock.errors import Unavailable

# Deadlines that turn a dead or black-holed database into a fast error instead of a hang.
# PostgreSQL cancels a statement after `timeout` seconds (and ends a transaction left idle for
# a minute); the client gives up on a statement whose answer never comes (a silently dropped
# connection: no reset, and no cancel reaches the server) a little later, and on connecting
# after half of it. A pooled connection is pinged before use, so one that died while idle is
# replaced instead of failing the request. In the worst outage a request waits for its turn
# (2 x timeout, see Database.turn_timeout), the ping (timeout + 2) and a connect (timeout / 2):
# 19.5 s at the default, an answer before a client's usual 30 s time-out.
DEFAULT_TIMEOUT = 5.0
IDLE_IN_TRANSACTION_TIMEOUT = 60.0


def deadline_options(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Engine options bounding every wait on the database, for processes that serve requests."""
    if make_url(url).get_backend_name() == "sqlite":
        return {"pool_pre_ping": True}
    return {
        "pool_pre_ping": True,
        "pool_timeout": timeout,
        "connect_args": {
            "timeout": max(1.0, timeout / 2),
            "command_timeout": timeout + 2.0,
            "server_settings": {
                "statement_timeout": str(int(timeout * 1000)),
                "idle_in_transaction_session_timeout": str(int(IDLE_IN_TRANSACTION_TIMEOUT * 1000)),
            },
        },
    }


class DatabaseUnavailable(Unavailable):
    """The database did not answer, refused the connection, or dropped it: try again later.

    The message is fixed; ``reason`` (the kind of failure, never a statement or parameter)
    is for the server's log only.
    """

    code = "database_unavailable"

    def __init__(self, reason: str) -> None:
        super().__init__("the database is unavailable; try again shortly")
        self.reason = reason


def _asyncpg_unavailable() -> tuple[type[BaseException], ...]:
    try:
        import asyncpg
    except ImportError:  # a SQLite-only install
        return ()
    return (
        asyncpg.exceptions.PostgresConnectionError,  # connection lost, refused, too many
        asyncpg.exceptions.OperatorInterventionError,  # statement timeout, admin shutdown
        asyncpg.exceptions.InterfaceError,  # "connection is closed" and its kin
    )


def unavailability(exc: BaseException) -> str | None:
    """What made the database unavailable, if ``exc`` says it was; ``None`` for other errors.

    Looks through SQLAlchemy's wrappers and the driver's chain: asyncpg raises connection
    errors, time-outs and OSErrors of its own, SQLAlchemy wraps some of them and not others.
    """
    if isinstance(exc, sa_exc.TimeoutError):
        return "no connection free in the pool"
    if isinstance(exc, sa_exc.DBAPIError) and (
        exc.connection_invalidated
        or isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
    ):
        return type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__
    network: tuple[type[BaseException], ...] = (
        ConnectionError,
        TimeoutError,
        socket.gaierror,
        *_asyncpg_unavailable(),
    )
    link: BaseException | None = exc
    for _ in range(8):  # a chain is short; a cycle must not loop forever
        if link is None:
            return None
        if isinstance(link, network):
            return type(link).__name__
        link = link.__cause__ or link.__context__
    return None


def drop_broken_connections(engine: AsyncEngine) -> None:
    # A statement that timed out on the client left its connection in an unknown state (the
    # answer may still arrive, or never): SQLAlchemy treats only the driver's own disconnect
    # errors as fatal, so tell it that these are too. The pool then drops the connection
    # instead of rolling back on it (another wait as long) and handing it to the next request.
    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: Any) -> None:
        if not context.is_disconnect and unavailability(context.original_exception):
            context.is_disconnect = True


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Database unavailability becomes `DatabaseUnavailable`, once, at this boundary."""
    try:
        yield
    except Exception as exc:
        reason = None if isinstance(exc, Unavailable) else unavailability(exc)
        if reason is None:
            raise
        raise DatabaseUnavailable(reason) from exc
