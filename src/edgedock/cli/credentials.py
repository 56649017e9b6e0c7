"""`edgedock credentials …`: image credentials over the REST API."""

from __future__ import annotations

import enum
import sys
from typing import Annotated, Any

import typer

from edgedock.cli import client, resolve, rotation
from edgedock.cli.completion import complete_credentials
from edgedock.cli.credentials_import import import_credentials
from edgedock.cli.output import (
    Column,
    CreatedOutputOption,
    OutputFormat,
    OutputOption,
    cell,
    emit_created,
    emit_item,
    emit_list,
    fail,
    note,
    print_data,
    print_fields,
)

app = typer.Typer(
    help="Image credentials: registry logins devices use to pull private images.",
    no_args_is_help=True,
)

CredentialsArgument = Annotated[
    str,
    typer.Argument(
        help="The credentials' label or id.",
        metavar="CREDENTIALS",
        autocompletion=complete_credentials,
    ),
]


class ExpiryStateChoice(enum.StrEnum):
    expiring = "expiring"
    expired = "expired"
    valid = "valid"


COLUMNS = [
    Column("id", "ID"),
    Column("label", "LABEL"),
    Column("username", "USERNAME"),
    Column("registry", "REGISTRY"),
    Column("fingerprint", "FINGERPRINT"),
    Column("token_kind", "KIND"),
    Column("expiry", "EXPIRES"),
    Column("use_count", "USED"),
    Column("health", "CHECK"),
    Column("created_at", "CREATED", wide=True),
    Column("created_by", "BY", wide=True),
]

app.command("import")(import_credentials)


@app.command("create")
def create_credentials(
    label: Annotated[str, typer.Option(help="A name for people; never sent to devices.")],
    username: Annotated[str, typer.Option(help="The registry user name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password or token from stdin.")
    ] = False,
    registry: Annotated[
        str | None,
        typer.Option(help="Bind to this registry (ghcr.io, docker.io…): usable for no other."),
    ] = None,
    expires_at: Annotated[
        str | None,
        typer.Option(
            "--expires-at",
            help="When the token expires, ISO 8601 with a zone (2027-01-31T12:00:00Z) or a "
            "date (midnight UTC), for tokens that do not carry it.",
        ),
    ] = None,
    output: CreatedOutputOption = OutputFormat.table,
) -> None:
    """Store credentials once. The password is read from stdin, never from the command line."""
    if not password_stdin:
        fail("pass the password on stdin with --password-stdin (never as an argument)")
    password = sys.stdin.read()
    body = {"label": label, "username": username, "password": password}
    if registry is not None:
        body["registry"] = registry
    if expires_at is not None:
        body["expires_at"] = expires_at
    emit_created(client.from_environment().post("/image-credentials", json=body), output)


def _row(item: dict[str, Any]) -> dict[str, Any]:
    item["expiry"] = _expiry(item)
    item["health"] = _health(item)
    return item


@app.command("list")
def list_credentials(
    q: Annotated[str | None, typer.Option("--q", "-q", help="Match label or username.")] = None,
    state: Annotated[
        ExpiryStateChoice | None,
        typer.Option(help="Only credentials in this expiry state (valid: neither of the others)."),
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """The tenant's credentials, by label: fingerprint, expiry, use count and last check."""
    params = {"q": q} if q else {}
    if state is not None:
        params["state"] = state.value
    items = client.from_environment().paginate("/image-credentials", params or None)
    emit_list(items, output, COLUMNS, prepare=_row)


def _health(item: dict[str, Any]) -> str | None:
    check = item.get("last_check")
    if not check:
        return None
    health = "ok" if check["ok"] else str(check["status"])
    return health + (" (can push)" if check.get("can_push") else "")


def _expiry(item: dict[str, object]) -> str | None:
    if not item.get("expires_at"):
        return None
    state = {"expired": " (expired)", "expiring": " (expiring)"}.get(str(item["expiry_state"]), "")
    source = " from the token" if item.get("expires_at_source") == "token" else ""
    return f"{item['expires_at']}{state}{source}"


@app.command("show")
def show_credentials(
    credentials: CredentialsArgument, output: OutputOption = OutputFormat.table
) -> None:
    """Credentials (never the password), the releases that use them and who pulled with them."""
    api = client.from_environment()
    item = api.get(f"/image-credentials/{resolve.credentials(api, credentials)}")

    def show(wide: bool) -> None:
        table = OutputFormat.wide if wide else OutputFormat.table
        print_fields(
            [
                ("id", item["id"]),
                ("label", item["label"]),
                ("username", item["username"]),
                ("registry", item.get("registry") or "any (not bound)"),
                ("fingerprint", item["fingerprint"]),
                ("kind", item["token_kind"]),
                ("expires", _expiry(item)),
                ("created", f"{cell(item['created_at'])} by {item['created_by']}"),
                ("last check", _health(item)),
            ]
        )
        typer.echo("\nUsed by:")
        emit_list(
            item["used_by"],
            table,
            [
                Column("application", "APPLICATION"),
                Column("version", "VERSION"),
                Column("container", "CONTAINER"),
                Column("image", "IMAGE"),
            ],
        )
        typer.echo("\nLast pulled by:")
        emit_list(
            item["pulled_by"],
            table,
            [Column("device", "DEVICE"), Column("last_pulled_at", "AT"), Column("image", "IMAGE")],
        )

    emit_item(item, output, show)


@app.command("check")
def check_credentials(
    credentials: CredentialsArgument,
    image: Annotated[
        str | None,
        typer.Option(help="Check pull rights on this image (default: the last one used)."),
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Ask the registry whether it accepts the credentials; exits 1 when it does not."""
    api = client.from_environment()
    result = api.post(
        f"/image-credentials/{resolve.credentials(api, credentials)}/check",
        json={"image": image} if image else {},
    )
    if output in (OutputFormat.json, OutputFormat.yaml):
        print_data(result, output)
    else:
        print_fields(
            [
                ("ok", result["ok"]),
                ("status", result["status"]),
                ("registry", result["registry"]),
                ("image", result["image"]),
                ("scheme", result["scheme"]),
                ("granted", ",".join(result["granted"]) or None),
                ("can push", result["can_push"]),
                ("checked", result["checked_at"]),
            ]
        )
    if not result["ok"]:
        fail(f"{result['status']}: {result['message']}")
    if result["can_push"]:
        note("warning: these credentials can push; devices only need pull")


@app.command("delete")
def delete_credentials(
    credentials: CredentialsArgument,
    force: Annotated[
        bool, typer.Option("--force", help="Delete even though releases reference them.")
    ] = False,
) -> None:
    """Delete credentials; refused while releases use them, unless --force."""
    api = client.from_environment()
    api.delete(
        f"/image-credentials/{resolve.credentials(api, credentials)}",
        params={"force": "true"} if force else None,
    )
    note(f"deleted credentials {credentials}")


# Rotation lives in its own module (as on the server); it is a `credentials` subcommand.
app.command("replace")(rotation.replace_credentials)
