"""One `edgedock serve` per SQLite database file: a second one is refused at start-up.

Two servers on one SQLite file would both run, but their wake-ups do not cross processes (a
device long-polling one would see a deployment made on the other a whole poll late) and they
would fight over SQLite's single writer. PostgreSQL is the way to run several replicas.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from edgedock.config import Settings
from edgedock.errors import ConfigurationError


def sqlite_path(database_url: str) -> Path | None:
    """The database file of a SQLite URL; ``None`` for other backends and in-memory ones."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def acquire(settings: Settings) -> IO[bytes] | None:
    """Lock ``<database>.lock`` for as long as the returned file stays open (the process).

    The lock is the kernel's (`flock`), so it ends with the process however that ends: a
    killed server leaves a stale file, never a stale lock.
    """
    path = sqlite_path(settings.effective_database_url)
    if path is None:
        return None
    lock_path = path.with_name(path.name + ".lock")
    # Private like the database itself; this may be the first thing to create the data dir.
    lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    handle = os.fdopen(descriptor, "r+b")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ConfigurationError(
            f"another edgedock serve is already using the SQLite database {path} "
            "(stop it first; several servers need PostgreSQL)"
        ) from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n".encode())
    handle.flush()
    return handle
