"""`edgedock releases …`: immutable releases of an application over the REST API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from edgedock.cli import client
from edgedock.cli.output import fail, print_fields, print_json, print_table

app = typer.Typer(
    help="Releases: immutable, versioned sets of containers. A change is a new release.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

# Keys of `releases show --json` that the server computes: dropped so that a shown release
# can be edited and created again as a new version (the way to rotate credentials).
READ_ONLY_CONTAINER_KEYS = ("id", "image_canonical", "registry", "image_credentials")


def load_containers(file: str) -> list[dict[str, Any]]:
    """The `containers` of a release file (`-` for stdin): `{"containers": [...]}`."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    try:
        document = json.loads(text)
    except ValueError as exc:
        fail(f"{file} is not JSON: {exc}")
    if not isinstance(document, dict) or not isinstance(document.get("containers"), list):
        fail(f'{file} must hold a JSON object like {{"containers": [...]}}')
    containers: list[dict[str, Any]] = []
    for container in document["containers"]:
        if isinstance(container, dict):
            container = {k: v for k, v in container.items() if k not in READ_ONLY_CONTAINER_KEYS}
        containers.append(container)
    return containers


@app.command("create")
def create_release(
    application_id: str,
    version: Annotated[str, typer.Option(help="A semantic version, unique in the application.")],
    file: Annotated[
        str, typer.Option("--file", "-f", help='JSON file with {"containers": [...]}; - for stdin.')
    ],
    as_json: JsonOption = False,
) -> None:
    """Create a release and print its id; warnings go to stderr."""
    created = client.from_environment().post(
        f"/applications/{application_id}/releases",
        json={"version": version, "containers": load_containers(file)},
    )
    for warning in created["warnings"]:
        typer.echo(f"warning: {warning['message']}", err=True)
    if as_json:
        print_json(created)
    else:
        typer.echo(created["id"])


@app.command("list")
def list_releases(application_id: str, as_json: JsonOption = False) -> None:
    """An application's releases, newest first."""
    items = client.from_environment().paginate(f"/applications/{application_id}/releases")
    if as_json:
        print_json(items)
        return
    for item in items:
        item["container_count"] = len(item["containers"])
        item["warning_count"] = len(item["warnings"])
    print_table(
        items,
        [
            ("id", "ID"),
            ("version", "VERSION"),
            ("container_count", "CONTAINERS"),
            ("warning_count", "WARNINGS"),
            ("created_at", "CREATED"),
            ("created_by", "BY"),
        ],
    )


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


@app.command("show")
def show_release(release_id: str, as_json: JsonOption = False) -> None:
    item = client.from_environment().get(f"/releases/{release_id}")
    if as_json:
        print_json(item)
        return
    print_fields(
        [
            ("id", item["id"]),
            ("application", f"{item['application']} ({item['application_id']})"),
            ("version", item["version"]),
            ("created", f"{item['created_at']} by {item['created_by']}"),
        ]
    )
    typer.echo("\nContainers:")
    for container in item["containers"]:
        container["credentials"] = credentials_cell(container)
        container["ports"] = ", ".join(container["port_bindings"])
    print_table(
        item["containers"],
        [
            ("name", "NAME"),
            ("image_canonical", "IMAGE"),
            ("credentials", "CREDENTIALS"),
            ("ports", "PORTS"),
            ("restart_policy", "RESTART"),
        ],
    )
    if item["warnings"]:
        typer.echo("\nWarnings:")
        for warning in item["warnings"]:
            typer.echo(f"  {warning['message']}")


@app.command("delete")
def delete_release(release_id: str) -> None:
    """Delete a release (refused while it is deployed)."""
    client.from_environment().delete(f"/releases/{release_id}")
    typer.echo(f"deleted {release_id}", err=True)
