"""Start-up preparation: the embedded default sets itself up; a configured one is checked."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from edgedock.config import Settings
from edgedock.credentials import service as credential_service
from edgedock.crypto import FileKeyStore
from edgedock.db import Database
from edgedock.errors import ConfigurationError
from edgedock.migrations import alembic_config, upgrade
from edgedock.server.app import load_keyring
from edgedock.tenants import service as tenant_service
from edgedock.tokens import service as token_service

log = logging.getLogger("edgedock.server")


async def prepare(settings: Settings) -> str | None:
    """Returns the first admin token when it created the `default` tenant, else None."""
    url = settings.effective_database_url
    if settings.is_embedded:
        make_private_data_dir(settings)
        if not settings.secret_keys and not settings.key_file.exists():
            FileKeyStore(settings.key_file).create()
        upgrade(url)
    else:
        await require_current_schema(url)
    keyring = load_keyring(settings)
    database = Database.connect(url)
    try:
        async with database.transaction() as session:
            # A missing or wrong key is a start-up error, never a failure in mid-request.
            await credential_service.verify_keys(session, keyring=keyring)
            if not settings.is_embedded or await tenant_service.search(session):
                return None
            tenant = await tenant_service.create(session, slug="default", keyring=keyring)
            _, token = await token_service.create(session, tenant_id=tenant.id, name="admin")
            return token
    finally:
        await database.dispose()


def make_private_data_dir(settings: Settings) -> None:
    """The embedded data dir holds the database and the key file: 0700, its files 0600.

    New files get that from the umask `edgedock serve` sets; a data dir and database left
    readable by an earlier version are tightened here, and the log says so.
    """
    data_dir = settings.data_dir
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _tighten(data_dir, 0o700)
        database = data_dir / "edgedock.db"
        for path in (
            database,
            database.with_name("edgedock.db-wal"),
            database.with_name("edgedock.db-shm"),
            settings.key_file,
        ):
            if path.exists():
                _tighten(path, 0o600)
    except OSError as exc:
        raise ConfigurationError(f"cannot prepare the data dir {data_dir}: {exc.strerror}") from exc


def _tighten(path: Path, mode: int) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current & 0o077:
        path.chmod(mode)
        log.warning("%s was readable by others (%o); made it %o", path, current, mode)


async def require_current_schema(url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()

    def _current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    database = Database.connect(url)
    try:
        async with database.engine.connect() as connection:
            current = await connection.run_sync(_current)
    except (OSError, DBAPIError) as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) else exc
        raise ConfigurationError(f"cannot connect to the database: {reason}") from exc
    finally:
        await database.dispose()
    if current != head:
        raise ConfigurationError(
            f"the database schema is at {current or 'nothing'}, not {head}: "
            "run `edgedock db upgrade` first"
        )
