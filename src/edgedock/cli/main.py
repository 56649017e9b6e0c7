"""The root `edgedock` command. Sub-commands import their heavy modules only when they run."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Annotated, Any

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption
from typer.exceptions import Abort

from edgedock.cli import (
    admin,
    agent,
    applications,
    audit,
    completion,
    credentials,
    deployments,
    devices,
    registries,
    releases,
    serve,
)

app = typer.Typer(
    name="edgedock",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def edgedock_version() -> str:
    try:
        return package_version("edgedock")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"edgedock {edgedock_version()}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print edgedock's version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Run container applications from private registries on fleets of edge devices.

    Operator commands talk to the server named by EDGEDOCK_URL with the API token in
    EDGEDOCK_TOKEN; admin commands (tenants, tokens, keys, db) work on the configured database.
    """


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
app.command("completion")(completion.completion)


def build() -> Any:
    """The click command tree, with help that shows names rather than types.

    Typer labels values by their Python type (`--release <str>`, `--stopped <bool>`); docker and
    kubectl show what goes there (`--release RELEASE`) and nothing after a flag. Each option
    and argument without its own metavar gets its upper-cased name, and a choice its choices.
    """
    command = typer.main.get_command(app)
    _tidy(command)
    return command


class _Argument(TyperArgument):
    """An argument shown as click and argparse show one: `APP`, `[REVISION]`, no type."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        return name if self.required else f"[{name}]"


def _tidy(command: Any) -> None:
    if isinstance(command, TyperGroup | TyperCommand):
        command.rich_markup_mode = None
    for param in command.params:
        if isinstance(param, TyperArgument):
            param.__class__ = _Argument
        if param.metavar is not None:
            continue
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = ""
        elif isinstance(param, TyperOption | TyperArgument):
            desc = param.type_descriptor
            if isinstance(param, TyperOption) and desc.is_choice and desc.choices is not None:
                param.metavar = (
                    "[" + "|".join(str(getattr(c, "value", c)) for c in desc.choices) + "]"
                )
            else:
                param.metavar = (param.name or "value").upper()
    for sub in getattr(command, "commands", {}).values():
        _tidy(sub)


def main() -> None:
    """`edgedock`: like click's standalone mode, except that a usage error is one line too."""
    completion.register_shells()
    try:
        code = build().main(prog_name="edgedock", standalone_mode=False)
    except NoArgsIsHelpError as exc:  # a group run bare shows its help, as before
        exc.show()
        sys.exit(exc.exit_code)
    except UsageError as exc:
        where = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
        typer.echo(f"error: {exc.format_message()}{where}", err=True)
        sys.exit(exc.exit_code)
    except ClickException as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except Abort:
        typer.echo("error: aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
