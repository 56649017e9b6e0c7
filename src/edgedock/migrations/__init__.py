"""Alembic migrations: the only way the schema is created or changed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config


def load_models() -> None:
    """Import every feature's models so that Base.metadata knows all tables."""
    from edgedock.applications import models as _applications  # noqa: F401
    from edgedock.audit import models as _audit  # noqa: F401
    from edgedock.credentials import models as _credentials  # noqa: F401
    from edgedock.deployments import models as _deployments  # noqa: F401
    from edgedock.device_api import models as _device_api  # noqa: F401
    from edgedock.devices import models as _devices  # noqa: F401
    from edgedock.registries import models as _registries  # noqa: F401
    from edgedock.releases import models as _releases  # noqa: F401
    from edgedock.tenants import models as _tenants  # noqa: F401
    from edgedock.tokens import models as _tokens  # noqa: F401


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`. Runs Alembic in a worker thread when a loop is running."""
    config = alembic_config(database_url)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(config, revision)
        return
    import threading

    errors: list[BaseException] = []

    def _target() -> None:
        try:
            command.upgrade(config, revision)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=_target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
