"""`edgedock agent`: run the device agent next to a Docker-compatible engine until SIGTERM;
`edgedock agent install-service`: write the systemd unit that runs it."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from edgedock.cli.output import fail

DEFAULT_ENGINE = "unix:///var/run/docker.sock"

app = typer.Typer(
    help="The device agent: pulls, runs and reports this device's deployments.",
    invoke_without_command=True,
)

ServerOption = Annotated[
    str | None,
    typer.Option(
        help="The edgedock server's URL, e.g. https://edgedock.example.", show_default=False
    ),
]
TokenFileOption = Annotated[
    Path | None,
    typer.Option(
        help="A file holding this device's token (owner-only, mode 0600).", show_default=False
    ),
]
EngineOption = Annotated[
    str, typer.Option(help="The engine's Docker API socket: unix:///… or tcp://host:port.")
]


@app.callback()
def agent(
    ctx: typer.Context,
    server: ServerOption = None,
    token_file: TokenFileOption = None,
    engine: EngineOption = DEFAULT_ENGINE,
    poll_wait: Annotated[
        int, typer.Option(min=1, max=300, help="Seconds one long poll may wait for a change.")
    ] = 30,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
    retry_after: Annotated[
        float,
        typer.Option(
            min=0.1,
            max=3600,
            help="Seconds before the first retry of a failed pull; each retry doubles it.",
        ),
    ] = 2.0,
    retry_at_most: Annotated[
        float,
        typer.Option(
            min=0.1, max=86400, help="The longest wait between two retries of a failed pull."
        ),
    ] = 300.0,
) -> None:
    """Pull, run and report this device's deployments; credentials are used for one pull only."""
    if ctx.invoked_subcommand is not None:
        return
    if server is None or token_file is None:
        fail("the agent needs --server URL and --token-file PATH (see `edgedock agent --help`)")
    logging.basicConfig(
        level=log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        from edgedock.agent.backoff import BackoffPolicy
        from edgedock.agent.engine import Engine
        from edgedock.agent.errors import AgentError
        from edgedock.agent.loop import Agent, run_until_signalled
        from edgedock.agent.server_client import ServerClient, plain_http_warning, read_token
    except ImportError as exc:
        fail(f"the agent needs its extra: pip install 'edgedock[agent]' ({exc.name} is missing)")
    warning = plain_http_warning(server)
    if warning:
        logging.getLogger("edgedock.agent").warning("%s", warning)
    try:
        token = read_token(token_file)
    except OSError as exc:
        fail(f"cannot read the token file {token_file}: {exc.strerror or exc}")
    except AgentError as exc:
        fail(str(exc))
    try:
        engine_client = Engine(engine)
    except AgentError as exc:
        fail(f"--engine {engine}: {exc}")
    with ServerClient(server, token=token, token_file=token_file) as client, engine_client:
        backoff = BackoffPolicy(initial=retry_after, maximum=max(retry_after, retry_at_most))
        run_until_signalled(Agent(client, engine_client, poll_wait=poll_wait, pull_backoff=backoff))


@app.command("install-service")
def install_service(
    server: Annotated[str, typer.Option(help="The edgedock server's URL.", show_default=False)],
    token_file: Annotated[
        Path, typer.Option(help="The device token's file (mode 0600).", show_default=False)
    ],
    engine: EngineOption = DEFAULT_ENGINE,
    unit: Annotated[
        str, typer.Option(help="Where to write the unit; `-` prints it on stdout.")
    ] = "/etc/systemd/system/edgedock-agent.service",
) -> None:
    """Write a systemd unit that runs this agent (restarted on failure); then enable it."""
    from edgedock.agent.service_unit import unit_text

    # The `edgedock` script of this environment (a venv's bin/), wherever it was started from.
    script = Path(sys.executable).with_name("edgedock")
    command = script if script.exists() else Path(sys.argv[0]).resolve()
    text = unit_text(
        command=[str(command)],
        server=server,
        token_file=str(token_file.absolute()),
        engine=engine,
    )
    if unit == "-":
        typer.echo(text, nl=False)
        return
    path = Path(unit)
    try:
        path.write_text(text, encoding="utf-8")
        path.chmod(0o644)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc} (run it as root, or --unit -)")
    typer.echo(f"wrote {path}", err=True)
    typer.echo(f"next: systemctl daemon-reload && systemctl enable --now {path.stem}", err=True)
