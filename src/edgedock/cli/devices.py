"""`edgedock devices …`: devices over the REST API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from edgedock.cli import client
from edgedock.cli.output import fail, print_fields, print_json, print_table

app = typer.Typer(
    help="Devices: the edge machines whose agents run releases.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
TokenFileOption = Annotated[
    Path | None,
    typer.Option(help="Write the device token to this file (mode 0600) instead of stdout."),
]


def _claim(path: Path) -> int:
    """A new file, owner-only from its first byte; an existing one is never overwritten."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{path} already exists")


@app.command("create")
def create_device(
    name: Annotated[str, typer.Option(help="Unique within the tenant.")],
    token_file: TokenFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a device. Its token is shown once: give it to the device's agent."""
    created = client.from_environment().post("/devices", json={"name": name})
    if token_file is not None:
        try:
            fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            fail(f"{token_file} already exists; the device was created as {created['id']}")
        with os.fdopen(fd, "w") as f:
            f.write(created["token"] + "\n")
        typer.echo(created["id"])
        typer.echo(f"device token written to {token_file}", err=True)
    elif as_json:
        print_json(created)
    else:
        typer.echo(created["token"])
        typer.echo(f"device {created['id']} created; the token above is shown only once", err=True)


@app.command("reissue-token")
def reissue_token(
    device_id: Annotated[str, typer.Argument(help="The device id.")],
    token_file: TokenFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give a device a new token (shown once); its old token stops working at once."""
    api = client.from_environment()
    if token_file is not None:
        # Claimed before the request: a file that cannot be written must not cost the old token.
        fd = _claim(token_file)
        try:
            issued = api.post(f"/devices/{device_id}/token")
        except BaseException:
            os.close(fd)
            token_file.unlink()
            raise
        with os.fdopen(fd, "w") as f:
            f.write(issued["token"] + "\n")
        typer.echo(f"new token of device {issued['name']} written to {token_file}", err=True)
        return
    issued = api.post(f"/devices/{device_id}/token")
    if as_json:
        print_json(issued)
    else:
        typer.echo(issued["token"])
        typer.echo(
            f"new token of device {issued['name']} shown above, only once; the old token no "
            "longer works: give this one to its agent and restart it",
            err=True,
        )


@app.command("list")
def list_devices(
    q: Annotated[str | None, typer.Option("--q", "-q", help="Match the name.")] = None,
    as_json: JsonOption = False,
) -> None:
    items = client.from_environment().paginate("/devices", {"q": q} if q else None)
    if as_json:
        print_json(items)
        return
    for item in items:
        item["engine_name"] = (item.get("engine") or {}).get("name")
    print_table(
        items,
        [
            ("id", "ID"),
            ("name", "NAME"),
            ("online", "ONLINE"),
            ("last_seen_at", "LAST SEEN"),
            ("engine_name", "ENGINE"),
            ("deployment_count", "DEPLOYMENTS"),
        ],
    )


@app.command("show")
def show_device(device_id: str, as_json: JsonOption = False) -> None:
    item = client.from_environment().get(f"/devices/{device_id}")
    if as_json:
        print_json(item)
        return
    engine = item.get("engine") or {}
    print_fields(
        [
            ("id", item["id"]),
            ("name", item["name"]),
            ("online", item["online"]),
            ("last seen", item["last_seen_at"]),
            ("engine", " ".join(str(v) for v in engine.values() if v) or None),
            ("deployments", item["deployment_count"]),
            ("created", item["created_at"]),
        ]
    )


@app.command("delete")
def delete_device(device_id: str) -> None:
    """Forget a device and its deployments; its token stops working at once."""
    client.from_environment().delete(f"/devices/{device_id}")
    typer.echo(f"deleted {device_id}", err=True)
