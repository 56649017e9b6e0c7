"""`edgedock registries …`: brokered registries and their accounts, over the REST API."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from edgedock.cli import client
from edgedock.cli.output import (
    CreatedOutputOption,
    OutputFormat,
    OutputOption,
    fail,
    is_data,
    note,
    print_data,
    print_fields,
    print_table,
)

app = typer.Typer(
    help="Brokered registries: edgedock as the token service of registries you run.",
    no_args_is_help=True,
)
accounts = typer.Typer(
    help="Registry accounts for people and CI (docker login / push).", no_args_is_help=True
)
app.add_typer(accounts, name="accounts")

RegistryArg = Annotated[str, typer.Argument(help="The registry's id or host.", metavar="REGISTRY")]


def _resolve(api: client.ApiClient, registry: str) -> dict[str, Any]:
    """A registry by id, or by host as people type it (`localhost:5000`)."""
    try:
        uuid.UUID(registry)
    except ValueError:
        wanted = registry.strip().lower().removeprefix("https://").removeprefix("http://")
        for item in api.get("/registries")["items"]:
            if item["host"] == wanted.split("/", 1)[0]:
                return dict(item)
        fail(f"no brokered registry has the host {registry!r}")
    return dict(api.get(f"/registries/{registry}"))


def _show(registry: dict[str, Any]) -> None:
    print_fields(
        [
            ("id", registry["id"]),
            ("host", registry["host"]),
            ("service", registry["service"]),
            ("issuer", registry["issuer"]),
            ("realm", registry["realm"]),
            ("bundle", registry["bundle_url"]),
            ("accounts", registry["accounts"]),
            ("created", registry["created_at"]),
        ]
    )
    typer.echo("\n# the registry's config.yml (save the bundle at the rootcertbundle path):")
    typer.echo(registry["configuration"], nl=False)


@app.command("create")
def create_registry(
    host: Annotated[str, typer.Option(help="The registry as images name it: host[:port].")],
    service: Annotated[
        str | None, typer.Option(help="The registry's auth.token.service (default: the host).")
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Broker a registry; prints the realm, service, issuer and the YAML to configure."""
    body: dict[str, Any] = {"host": host}
    if service is not None:
        body["service"] = service
    created = client.from_environment().post("/registries", json=body)
    if is_data(output):
        print_data(created, output)
    else:
        _show(created)


@app.command("list")
def list_registries(output: OutputOption = OutputFormat.table) -> None:
    """Every brokered registry of the tenant."""
    items = client.from_environment().get("/registries")["items"]
    if is_data(output):
        print_data(items, output)
    else:
        print_table(
            items,
            [("id", "ID"), ("host", "HOST"), ("service", "SERVICE"), ("accounts", "ACCOUNTS")],
        )


@app.command("show")
def show_registry(registry: RegistryArg, output: OutputOption = OutputFormat.table) -> None:
    """A registry, with the configuration to paste into it."""
    found = _resolve(client.from_environment(), registry)
    if is_data(output):
        print_data(found, output)
    else:
        _show(found)


@app.command("delete")
def delete_registry(registry: RegistryArg) -> None:
    """Stop brokering: keys, accounts and pull secrets go; issued tokens live out their minutes."""
    api = client.from_environment()
    found = _resolve(api, registry)
    api.delete(f"/registries/{found['id']}")
    note(f"deleted brokered registry {found['host']}")


@app.command("bundle")
def bundle(
    registry: RegistryArg,
    output: Annotated[
        Path | None, typer.Option("--file", help="Write the PEM to this file, not to stdout.")
    ] = None,
) -> None:
    """The certificate bundle (previous, current, next) for the registry's rootcertbundle."""
    api = client.from_environment()
    found = _resolve(api, registry)
    pem = "".join(c["certificate"] for c in api.get(f"/registries/{found['id']}/certificates"))
    if output is None:
        typer.echo(pem, nl=False)
        return
    output.write_text(pem)
    note(f"wrote the bundle of {found['host']} to {output}")


def _rule(text: str) -> dict[str, Any]:
    repository, sep, actions = text.rpartition("=")
    if not sep or not repository or not actions:
        fail(f"--access must look like team/*=pull,push (got {text!r})")
    return {"repository": repository, "actions": [a for a in actions.split(",") if a]}


@accounts.command("create")
def create_account(
    registry: RegistryArg,
    name: Annotated[str, typer.Option(help="The login name (docker login -u NAME).")],
    access: Annotated[
        list[str],
        typer.Option(help="REPOSITORY=ACTIONS, e.g. team/*=pull,push; repeat for more rules."),
    ],
    secret_file: Annotated[
        Path | None,
        typer.Option(help="Write the secret to this new file (mode 0600) instead of stdout."),
    ] = None,
    output: CreatedOutputOption = OutputFormat.table,
) -> None:
    """Create an account; its secret is shown once (use it with docker login --password-stdin)."""
    api = client.from_environment()
    found = _resolve(api, registry)
    body = {"name": name, "access": [_rule(a) for a in access]}
    if secret_file is not None:
        try:
            fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            fail(f"{secret_file} already exists")
        try:
            created = api.post(f"/registries/{found['id']}/accounts", json=body)
        except BaseException:
            os.close(fd)
            secret_file.unlink()
            raise
        with os.fdopen(fd, "w") as f:
            f.write(created["secret"] + "\n")
        if is_data(output):
            print_data({k: v for k, v in created.items() if k != "secret"}, output)
        note(f"account {name} ({created['id']}) created; its secret is in {secret_file}")
        return
    created = api.post(f"/registries/{found['id']}/accounts", json=body)
    if is_data(output):
        print_data(created, output)
    else:
        typer.echo(created["secret"])
    note(
        f"account {name} ({created['id']}) created on {found['host']}; the secret is "
        f"shown only once: docker login {found['host']} -u {name} --password-stdin"
    )


@accounts.command("list")
def list_accounts(registry: RegistryArg, output: OutputOption = OutputFormat.table) -> None:
    """The accounts of a registry, with their access rules (never their secrets)."""
    api = client.from_environment()
    found = _resolve(api, registry)
    items = api.get(f"/registries/{found['id']}/accounts")["items"]
    if is_data(output):
        print_data(items, output)
        return
    rows = [
        {
            **item,
            "rules": " ".join(
                f"{r['repository']}={','.join(r['actions'])}" for r in item["access"]
            ),
        }
        for item in items
    ]
    print_table(
        rows, [("id", "ID"), ("name", "NAME"), ("rules", "ACCESS"), ("created_at", "CREATED")]
    )


@accounts.command("delete")
def delete_account(
    registry: RegistryArg,
    account: Annotated[str, typer.Argument(help="The account's id or name.", metavar="ACCOUNT")],
) -> None:
    """Revoke an account: its secret stops working at once."""
    api = client.from_environment()
    found = _resolve(api, registry)
    account_id = account
    try:
        uuid.UUID(account)
    except ValueError:
        items = api.get(f"/registries/{found['id']}/accounts")["items"]
        match = [i for i in items if i["name"] == account]
        if not match:
            fail(f"registry {found['host']} has no account named {account!r}")
        account_id = match[0]["id"]
    api.delete(f"/registries/{found['id']}/accounts/{account_id}")
    note(f"revoked account {account} on {found['host']}")
