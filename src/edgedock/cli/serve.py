"""`edgedock serve`: the server. With no configuration it runs embedded under ./var/."""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import os
import socket
import sys
from collections.abc import Callable
from types import FrameType

import typer

from edgedock.cli.output import fail
from edgedock.cli.server_extra import needs_server_extra


def serve() -> None:
    """Serve the REST API, the device API and the web UI on one port."""
    with needs_server_extra("edgedock serve"):
        import uvicorn

        from edgedock.config import load_settings
        from edgedock.errors import ConfigurationError
        from edgedock.server import instance_lock
        from edgedock.server.app import create_app
        from edgedock.server.bootstrap import prepare

    # A server allocates and frees small objects all day; with the default generation-0
    # threshold (700) the collector ran many times a second under load, walking every
    # long-lived object each time. The start-up objects are frozen out of its reach.
    gc.set_threshold(50_000, 20, 20)
    # The database, its journals and the key file hold tenants' data: owner-only from birth.
    os.umask(0o077)
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiosqlite logs every statement with its parameters at DEBUG; parameters are user input.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, logging.root.level))
    check_port_free(settings.host, settings.port)
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
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        access_log=False,
    )
    gc.freeze()
    _server_class()(config, on_exit=app.state.edgedock.fleet.close).run()


def check_port_free(host: str, port: int) -> None:
    """Fail in one line, naming EDGEDOCK_PORT, when the port cannot be listened on.

    Bound and closed again the way asyncio will bind it (every address of ``host``,
    SO_REUSEADDR), before anything is prepared: uvicorn's own failure comes after start-up, as a
    bare `[Errno 98]` log line.
    """
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        fail(f"cannot listen on {host}: {exc.strerror}; set EDGEDOCK_HOST to a local address")
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    fail(
                        f"port {port} on {host} is already in use: stop what listens there, "
                        "or set EDGEDOCK_PORT to another port"
                    )
                if exc.errno == errno.EACCES:
                    fail(f"port {port} needs privileges: set EDGEDOCK_PORT to a port above 1023")
                fail(f"cannot listen on {host}:{port}: {exc.strerror} (EDGEDOCK_HOST/_PORT)")


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn waits for open requests before it stops; parked polls answer at once."""

        def __init__(self, config: uvicorn.Config, *, on_exit: Callable[[], None]) -> None:
            super().__init__(config)
            self._on_exit = on_exit
            self._loop: asyncio.AbstractEventLoop | None = None

        async def serve(self, sockets: list[socket.socket] | None = None) -> None:
            self._loop = asyncio.get_running_loop()
            await super().serve(sockets)

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._on_exit)
            super().handle_exit(sig, frame)

    return Server
