"""`edgedock serve`: the server. With no configuration it runs embedded under ./var/."""

from __future__ import annotations

import asyncio
import logging
import sys

import typer

from edgedock.cli.output import fail


def serve() -> None:
    """Serve the REST API, the device API and the web UI on one port."""
    import uvicorn

    from edgedock.config import load_settings
    from edgedock.errors import ConfigurationError
    from edgedock.server import instance_lock
    from edgedock.server.app import create_app
    from edgedock.server.bootstrap import prepare

    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiosqlite logs every statement with its parameters at DEBUG; parameters are user input.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, logging.root.level))
    try:
        lock = instance_lock.acquire(settings)  # noqa: F841 - held until the process ends
        first_token = asyncio.run(prepare(settings))
        app = create_app(settings)
    except ConfigurationError as exc:
        fail(exc.message)
    if first_token:
        typer.echo("Created tenant 'default'. Its admin API token, shown only this once:")
        typer.echo(first_token)
        typer.echo(f"Sign in at http://{settings.host}:{settings.port}/ with it.", err=True)
    # uvicorn's access log prints query strings; edgedock's own access log does not.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        access_log=False,
    )
