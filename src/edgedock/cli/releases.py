"""`edgedock releases …`: immutable releases of an application over the REST API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from edgedock.cli import client, release_file, resolve
from edgedock.cli.applications import RELEASE_COLUMNS, ApplicationArgument, release_row
from edgedock.cli.client import ApiClient
from edgedock.cli.completion import complete_releases
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
    print_fields,
    print_table,
)

app = typer.Typer(
    help="Releases: immutable, versioned sets of containers. A change is a new release.",
    no_args_is_help=True,
)

ReleaseArgument = Annotated[
    str,
    typer.Argument(
        help="APP@VERSION (sensor-gateway@1.2.0), a version only one application has, or an id.",
        metavar="RELEASE",
        autocompletion=complete_releases,
    ),
]


def containers_with_credentials_ids(api: ApiClient, containers: list[Any]) -> list[Any]:
    """`credentials: LABEL` (or id) of each container as the `image_credentials_id` it names."""
    found: dict[str, str] = {}
    for container in containers:
        if not isinstance(container, dict) or "credentials" not in container:
            continue
        value = container.pop("credentials")
        if value is None:
            continue
        if not isinstance(value, str):
            fail(f"container {container.get('name')!r}: credentials must be a label or an id")
        if "image_credentials_id" in container:
            fail(f"container {container.get('name')!r}: give credentials or image_credentials_id")
        if value not in found:
            found[value] = resolve.credentials(api, value)
        container["image_credentials_id"] = found[value]
    return containers


@app.command("create", epilog=release_file.FORMAT)
def create_release(
    application: ApplicationArgument,
    file: Annotated[
        str,
        typer.Option(
            "--file", "-f", help="The release file, YAML or JSON (see below); - for stdin."
        ),
    ],
    version: Annotated[
        str | None,
        typer.Option(help="A semantic version, unique in the application (or in the file)."),
    ] = None,
    output: CreatedOutputOption = OutputFormat.table,
) -> None:
    """Create a release from a file and print its id; warnings go to stderr."""
    document = release_file.load(file)
    version = version or document["version"]
    if not version:
        fail(f"give --version or a version in {file}")
    api = client.from_environment()
    application_id = resolve.application(api, application)
    created = api.post(
        f"/applications/{application_id}/releases",
        json={
            "version": version,
            "containers": containers_with_credentials_ids(api, document["containers"]),
        },
    )
    for warning in created["warnings"]:
        note(f"warning: {warning['message']}")
    emit_created(created, output)


@app.command("list")
def list_releases(
    application: ApplicationArgument, output: OutputOption = OutputFormat.table
) -> None:
    """An application's releases, newest first."""
    api = client.from_environment()
    application_id = resolve.application(api, application)
    items = api.paginate(f"/applications/{application_id}/releases")
    emit_list(items, output, RELEASE_COLUMNS, prepare=release_row)


def credentials_cell(container: dict[str, Any]) -> str | None:
    ref = container.get("image_credentials")
    if not ref:
        return None
    if ref["id"] is None:
        deleted_at = ref.get("deleted_at")
        return (
            f"{ref['label']} (DELETED {deleted_at})" if deleted_at else f"{ref['label']} (DELETED)"
        )
    return f"{ref['label']} ({ref['username']})"


CONTAINER_COLUMNS = [
    Column("name", "NAME"),
    Column("image_canonical", "IMAGE"),
    Column("credentials", "CREDENTIALS"),
    Column("ports", "PORTS"),
    Column("restart_policy", "RESTART"),
    Column("binds_cell", "BINDS", wide=True),
    Column("network_mode", "NETWORK", wide=True),
    Column("privileged", "PRIVILEGED", wide=True),
    Column("env_cell", "ENV", wide=True),
    Column("command_cell", "COMMAND", wide=True),
]


def _container_row(container: dict[str, Any]) -> dict[str, Any]:
    container["credentials"] = credentials_cell(container)
    container["ports"] = ", ".join(container["port_bindings"])
    container["binds_cell"] = ", ".join(container.get("binds") or [])
    container["env_cell"] = ", ".join(sorted(container.get("env") or {}))  # names, not values
    container["command_cell"] = " ".join(container.get("command") or [])
    return container


@app.command("show")
def show_release(release: ReleaseArgument, output: OutputOption = OutputFormat.table) -> None:
    """A release and its containers; `-o yaml` prints a file `releases create` takes back."""
    api = client.from_environment()
    item = api.get(f"/releases/{resolve.release(api, release)}")

    def show(wide: bool) -> None:
        print_fields(
            [
                ("id", item["id"]),
                ("application", f"{item['application']} ({item['application_id']})"),
                ("version", item["version"]),
                ("created", f"{cell(item['created_at'])} by {item['created_by']}"),
            ]
        )
        typer.echo("\nContainers:")
        emit_list(
            item["containers"],
            OutputFormat.wide if wide else OutputFormat.table,
            CONTAINER_COLUMNS,
            prepare=_container_row,
        )
        if item["warnings"]:
            typer.echo("\nWarnings:")
            print_table(item["warnings"], [("code", "CODE"), ("message", "MESSAGE")])

    emit_item(item, output, show)


@app.command("delete")
def delete_release(release: ReleaseArgument) -> None:
    """Delete a release (refused while it is deployed)."""
    api = client.from_environment()
    api.delete(f"/releases/{resolve.release(api, release)}")
    note(f"deleted release {release}")
