"""Commands that need the server's extra say so in one line when it is not installed.

`pip install edgedock` (or `edgedock[agent]`, on a device) brings the agent and the operator CLI;
`edgedock serve` and the admin commands need FastAPI, SQLAlchemy and the rest of the `server`
extra. Without them Python would end in a `ModuleNotFoundError` traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from edgedock.cli.output import fail

# The import names of the `server` extra's distributions (and of what they bring along).
SERVER_MODULES = frozenset(
    {
        "aiosqlite",
        "alembic",
        "asyncpg",
        "cryptography",
        "fastapi",
        "jinja2",
        "multipart",
        "pydantic_settings",
        "python_multipart",
        "sqlalchemy",
        "starlette",
        "uvicorn",
    }
)


@contextmanager
def needs_server_extra(command: str) -> Iterator[None]:
    """Turn a missing server module inside the block into the one-line fix."""
    try:
        yield
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in SERVER_MODULES:
            raise
        fail(
            f"`{command}` needs the server's extra, and {missing} is not installed: "
            "pip install 'edgedock[server]'"
        )
