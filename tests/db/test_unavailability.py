"""Which errors mean "the database is unavailable" (503) and which are bugs or conflicts."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc

from edgedock.outages import unavailability


def _chained(outer: Exception, cause: BaseException) -> Exception:
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(
    "error",
    [
        sa_exc.OperationalError("SELECT 1", None, sqlite3.OperationalError("database is locked")),
        sa_exc.InterfaceError("SELECT 1", None, Exception("connection is closed")),
        sa_exc.TimeoutError("QueuePool limit reached"),
        ConnectionResetError("reset by peer"),
        TimeoutError(),
        asyncpg.exceptions.ConnectionDoesNotExistError("closed in the middle"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        _chained(RuntimeError("wrapped"), ConnectionRefusedError("refused")),
    ],
    ids=lambda e: type(e).__name__,
)
def test_unavailability_names_outages(error: Exception) -> None:
    assert unavailability(error)


@pytest.mark.parametrize(
    "error",
    [
        sa_exc.IntegrityError("INSERT", None, sqlite3.IntegrityError("UNIQUE constraint failed")),
        sa_exc.ProgrammingError("SELECT", None, Exception("syntax error")),
        ValueError("a bug"),
        FileNotFoundError("secret-keys"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_unavailability_is_none_for_other_errors(error: Exception) -> None:
    assert unavailability(error) is None
