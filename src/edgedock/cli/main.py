"""The root `edgedock` command. Sub-commands import their heavy modules only when they run."""

from __future__ import annotations

import typer

from edgedock.cli import (
    admin,
    agent,
    applications,
    audit,
    credentials,
    deployments,
    devices,
    registries,
    releases,
    serve,
)

app = typer.Typer(
    name="edgedock",
    help="Run container applications from private registries on fleets of edge devices.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("serve")(serve.serve)
app.add_typer(agent.app, name="agent")
app.add_typer(admin.tenants, name="tenants")
app.add_typer(admin.tokens, name="tokens")
app.add_typer(admin.keys, name="keys")
app.add_typer(admin.db, name="db")
app.add_typer(credentials.app, name="credentials")
app.add_typer(applications.app, name="apps")
app.add_typer(releases.app, name="releases")
app.add_typer(devices.app, name="devices")
app.add_typer(deployments.app, name="deploy")
app.add_typer(registries.app, name="registries")
app.command("audit")(audit.audit)
