"""`edgedock credentials …`: image credentials over the REST API."""

from __future__ import annotations

import enum
import sys
from typing import Annotated, Any

import typer

from edgedock.cli import client, rotation
from edgedock.cli.credentials_import import import_credentials
from edgedock.cli.output import fail, print_fields, print_json, print_table

app = typer.Typer(
    help="Image credentials: registry logins devices use to pull private images.",
    no_args_is_help=True,
)


class ExpiryStateChoice(enum.StrEnum):
    expiring = "expiring"
    expired = "expired"
    valid = "valid"


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

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
    as_json: JsonOption = False,
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
    created = client.from_environment().post("/image-credentials", json=body)
    if as_json:
        print_json(created)
    else:
        typer.echo(created["id"])


@app.command("list")
def list_credentials(
    q: Annotated[str | None, typer.Option("--q", "-q", help="Match label or username.")] = None,
    state: Annotated[
        ExpiryStateChoice | None,
        typer.Option(help="Only credentials in this expiry state (valid: neither of the others)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    params = {"q": q} if q else {}
    if state is not None:
        params["state"] = state.value
    items = client.from_environment().paginate("/image-credentials", params or None)
    if as_json:
        print_json(items)
        return
    for item in items:
        item["expiry"] = _expiry(item)
        item["health"] = _health(item)
    print_table(
        items,
        [
            ("id", "ID"),
            ("label", "LABEL"),
            ("username", "USERNAME"),
            ("registry", "REGISTRY"),
            ("fingerprint", "FINGERPRINT"),
            ("token_kind", "KIND"),
            ("expiry", "EXPIRES"),
            ("use_count", "USED"),
            ("health", "CHECK"),
        ],
    )


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
def show_credentials(credential_id: str, as_json: JsonOption = False) -> None:
    item = client.from_environment().get(f"/image-credentials/{credential_id}")
    if as_json:
        print_json(item)
        return
    print_fields(
        [
            ("id", item["id"]),
            ("label", item["label"]),
            ("username", item["username"]),
            ("registry", item.get("registry") or "any (not bound)"),
            ("fingerprint", item["fingerprint"]),
            ("kind", item["token_kind"]),
            ("expires", _expiry(item)),
            ("created", f"{item['created_at']} by {item['created_by']}"),
            ("last check", _health(item)),
        ]
    )
    typer.echo("\nUsed by:")
    print_table(
        item["used_by"],
        [
            ("application", "APPLICATION"),
            ("version", "VERSION"),
            ("container", "CONTAINER"),
            ("image", "IMAGE"),
        ],
    )
    typer.echo("\nLast pulled by:")
    print_table(
        item["pulled_by"], [("device", "DEVICE"), ("last_pulled_at", "AT"), ("image", "IMAGE")]
    )


@app.command("check")
def check_credentials(
    credential_id: str,
    image: Annotated[
        str | None,
        typer.Option(help="Check pull rights on this image (default: the last one used)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Ask the registry whether it accepts the credentials; exits 1 when it does not."""
    result = client.from_environment().post(
        f"/image-credentials/{credential_id}/check", json={"image": image} if image else {}
    )
    if as_json:
        print_json(result)
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
        typer.echo("warning: these credentials can push; devices only need pull", err=True)


@app.command("delete")
def delete_credentials(
    credential_id: str,
    force: Annotated[
        bool, typer.Option("--force", help="Delete even though releases reference them.")
    ] = False,
) -> None:
    client.from_environment().delete(
        f"/image-credentials/{credential_id}", params={"force": "true"} if force else None
    )
    typer.echo(f"deleted {credential_id}", err=True)


# Rotation lives in its own module (as on the server); it is a `credentials` subcommand.
app.command("replace")(rotation.replace_credentials)
