"""`edgedock agent`: run the device agent next to a Docker-compatible engine until SIGTERM."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from edgedock.cli.output import fail

DEFAULT_ENGINE = "unix:///var/run/docker.sock"


def agent(
    server: Annotated[
        str, typer.Option(help="The edgedock server's URL, e.g. https://edgedock.example.")
    ],
    token_file: Annotated[
        Path, typer.Option(help="A file holding this device's token (shown once at creation).")
    ],
    engine: Annotated[
        str, typer.Option(help="The engine's Docker API: unix:///… or tcp://host:port.")
    ] = DEFAULT_ENGINE,
    poll_wait: Annotated[
        int, typer.Option(min=1, max=300, help="Seconds one long poll may wait for a change.")
    ] = 30,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """Pull, run and report this device's deployments; credentials are used for one pull only."""
    logging.basicConfig(
        level=log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        from edgedock.agent.engine import Engine
        from edgedock.agent.loop import Agent, run_until_signalled
        from edgedock.agent.server_client import ServerClient, ServerRejected, read_token
    except ImportError as exc:
        fail(f"the agent needs its extra: pip install 'edgedock[agent]' ({exc.name} is missing)")
    try:
        token = read_token(token_file)
    except OSError as exc:
        fail(f"cannot read the token file {token_file}: {exc.strerror or exc}")
    except ServerRejected as exc:
        fail(str(exc))
    with (
        ServerClient(server, token=token, token_file=token_file) as client,
        Engine(engine) as engine_client,
    ):
        run_until_signalled(Agent(client, engine_client, poll_wait=poll_wait))
