"""`edgedock devices …`: devices over the REST API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from edgedock.cli import client, resolve
from edgedock.cli.completion import complete_devices
from edgedock.cli.output import (
    Column,
    CreatedOutputOption,
    OutputFormat,
    OutputOption,
    emit_item,
    emit_list,
    fail,
    note,
    print_data,
    print_fields,
)

app = typer.Typer(
    help="Devices: the edge machines whose agents run releases.", no_args_is_help=True
)

DeviceArgument = Annotated[
    str,
    typer.Argument(
        help="The device's name or id.", metavar="DEVICE", autocompletion=complete_devices
    ),
]

COLUMNS = [
    Column("id", "ID"),
    Column("name", "NAME"),
    Column("online", "ONLINE"),
    Column("last_seen_at", "LAST SEEN"),
    Column("engine_name", "ENGINE"),
    Column("deployment_count", "DEPLOYMENTS"),
    Column("engine_version", "ENGINE VERSION", wide=True),
    Column("created_at", "CREATED", wide=True),
]


def _row(item: dict[str, Any]) -> dict[str, Any]:
    engine = item.get("engine") or {}
    item["engine_name"] = engine.get("name")
    item["engine_version"] = engine.get("version")
    return item


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
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}")


def write_token_file(path: Path, token: str, *, device_id: str) -> None:
    """The token, owner-only from its creation; an existing file is never overwritten."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{path} already exists; the device was created as {device_id}")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}; the device was created as {device_id}")
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")


@app.command("create")
def create_device(
    name: Annotated[str, typer.Option(help="Unique within the tenant.")],
    token_file: TokenFileOption = None,
    output: CreatedOutputOption = OutputFormat.table,
) -> None:
    """Register a device. Its token is shown once: give it to the device's agent.

    The token goes to stdout (or to --token-file) and the device's id to stderr, so that
    `edgedock devices create --name gw > gw.token` keeps just the token. With -o json or yaml,
    stdout holds the whole device, token included.
    """
    created = client.from_environment().post("/devices", json={"name": name})
    if token_file is not None:
        write_token_file(token_file, created["token"], device_id=created["id"])
        if output in (OutputFormat.json, OutputFormat.yaml):
            print_data({k: v for k, v in created.items() if k != "token"}, output)
        note(f"device {created['id']} created; its token is in {token_file}")
    elif output in (OutputFormat.json, OutputFormat.yaml):
        print_data(created, output)
        note(f"device {created['id']} created; the token is shown only once")
    else:
        typer.echo(created["token"])
        note(f"device {created['id']} created; the token above is shown only once")


@app.command("reissue-token")
def reissue_token(
    device: DeviceArgument,
    token_file: TokenFileOption = None,
    output: CreatedOutputOption = OutputFormat.table,
) -> None:
    """Give a device a new token (shown once); its old token stops working at once.

    Like `devices create`: the token on stdout (or in --token-file), the message on stderr;
    with -o json or yaml, the device and its new token on stdout.
    """
    api = client.from_environment()
    device_id = resolve.device(api, device)
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
        if output in (OutputFormat.json, OutputFormat.yaml):
            print_data({k: v for k, v in issued.items() if k != "token"}, output)
        note(f"new token of device {issued['name']} written to {token_file}")
        return
    issued = api.post(f"/devices/{device_id}/token")
    if output in (OutputFormat.json, OutputFormat.yaml):
        print_data(issued, output)
    else:
        typer.echo(issued["token"])
    note(
        f"new token of device {issued['name']} shown only once; the old token no longer "
        "works: give this one to its agent and restart it"
    )


@app.command("list")
def list_devices(
    q: Annotated[str | None, typer.Option("--q", "-q", help="Match the name.")] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """The tenant's devices, by name, with when each was last seen."""
    items = client.from_environment().paginate("/devices", {"q": q} if q else None)
    emit_list(items, output, COLUMNS, prepare=_row)


@app.command("show")
def show_device(device: DeviceArgument, output: OutputOption = OutputFormat.table) -> None:
    """A device: online or not, when it was last seen, its engine and deployment count."""
    api = client.from_environment()
    item = api.get(f"/devices/{resolve.device(api, device)}")

    def show(_wide: bool) -> None:
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

    emit_item(item, output, show)


@app.command("delete")
def delete_device(device: DeviceArgument) -> None:
    """Forget a device and its deployments; its token stops working at once."""
    api = client.from_environment()
    api.delete(f"/devices/{resolve.device(api, device)}")
    note(f"deleted device {device}")
