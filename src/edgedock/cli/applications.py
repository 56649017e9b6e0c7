"""`edgedock apps …`: applications over the REST API."""

from __future__ import annotations

from typing import Annotated

import typer

from edgedock.cli import client
from edgedock.cli.output import print_fields, print_json, print_table

app = typer.Typer(
    help="Applications: named sets of releases that get deployed to devices.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command("create")
def create_application(
    name: Annotated[str, typer.Option(help="Unique within the tenant, case-insensitively.")],
    description: Annotated[str, typer.Option(help="Free text for people.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Create an application and print its id."""
    created = client.from_environment().post(
        "/applications", json={"name": name, "description": description}
    )
    if as_json:
        print_json(created)
    else:
        typer.echo(created["id"])


@app.command("list")
def list_applications(
    q: Annotated[str | None, typer.Option("--q", "-q", help="Match name or description.")] = None,
    as_json: JsonOption = False,
) -> None:
    items = client.from_environment().paginate("/applications", {"q": q} if q else None)
    if as_json:
        print_json(items)
        return
    print_table(
        items,
        [
            ("id", "ID"),
            ("name", "NAME"),
            ("release_count", "RELEASES"),
            ("created_at", "CREATED"),
        ],
    )


@app.command("show")
def show_application(application_id: str, as_json: JsonOption = False) -> None:
    """Show an application and its releases, newest first."""
    api = client.from_environment()
    item = api.get(f"/applications/{application_id}")
    releases = api.paginate(f"/applications/{application_id}/releases")
    if as_json:
        print_json({**item, "releases": releases})
        return
    print_fields(
        [
            ("id", item["id"]),
            ("name", item["name"]),
            ("description", item["description"]),
            ("created", item["created_at"]),
        ]
    )
    typer.echo("\nReleases:")
    for release in releases:
        release["container_count"] = len(release["containers"])
        release["warning_count"] = len(release["warnings"])
    print_table(
        releases,
        [
            ("id", "ID"),
            ("version", "VERSION"),
            ("container_count", "CONTAINERS"),
            ("warning_count", "WARNINGS"),
            ("created_at", "CREATED"),
        ],
    )


@app.command("delete")
def delete_application(application_id: str) -> None:
    """Delete an application and all its releases (refused while any release is deployed)."""
    client.from_environment().delete(f"/applications/{application_id}")
    typer.echo(f"deleted {application_id}", err=True)
