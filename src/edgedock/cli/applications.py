"""`edgedock apps …`: applications over the REST API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from edgedock.cli import client, resolve
from edgedock.cli.completion import complete_applications
from edgedock.cli.output import (
    Column,
    CreatedOutputOption,
    OutputFormat,
    OutputOption,
    emit_created,
    emit_item,
    emit_list,
    note,
    print_fields,
)

app = typer.Typer(
    help="Applications: named sets of releases that get deployed to devices.",
    no_args_is_help=True,
)

ApplicationArgument = Annotated[
    str,
    typer.Argument(
        help="The application's name or id.",
        metavar="APP",
        autocompletion=complete_applications,
    ),
]

COLUMNS = [
    Column("id", "ID"),
    Column("name", "NAME"),
    Column("release_count", "RELEASES"),
    Column("created_at", "CREATED"),
    Column("description", "DESCRIPTION", wide=True),
]
RELEASE_COLUMNS = [
    Column("id", "ID"),
    Column("version", "VERSION"),
    Column("container_count", "CONTAINERS"),
    Column("warning_count", "WARNINGS"),
    Column("created_at", "CREATED"),
    Column("created_by", "BY", wide=True),
]


def release_row(release: dict[str, Any]) -> dict[str, Any]:
    release["container_count"] = len(release["containers"])
    release["warning_count"] = len(release["warnings"])
    return release


@app.command("create")
def create_application(
    name: Annotated[str, typer.Option(help="Unique within the tenant, case-insensitively.")],
    description: Annotated[str, typer.Option(help="Free text for people.")] = "",
    output: CreatedOutputOption = OutputFormat.table,
) -> None:
    """Create an application and print its id."""
    created = client.from_environment().post(
        "/applications", json={"name": name, "description": description}
    )
    emit_created(created, output)


@app.command("list")
def list_applications(
    q: Annotated[str | None, typer.Option("--q", "-q", help="Match name or description.")] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """The tenant's applications, by name."""
    items = client.from_environment().paginate("/applications", {"q": q} if q else None)
    emit_list(items, output, COLUMNS)


@app.command("show")
def show_application(
    application: ApplicationArgument, output: OutputOption = OutputFormat.table
) -> None:
    """Show an application and its releases, newest first."""
    api = client.from_environment()
    application_id = resolve.application(api, application)
    item = api.get(f"/applications/{application_id}")
    releases = api.paginate(f"/applications/{application_id}/releases")

    def show(wide: bool) -> None:
        print_fields(
            [
                ("id", item["id"]),
                ("name", item["name"]),
                ("description", item["description"]),
                ("created", item["created_at"]),
            ]
        )
        typer.echo("\nReleases:")
        emit_list(
            releases,
            OutputFormat.wide if wide else OutputFormat.table,
            RELEASE_COLUMNS,
            prepare=release_row,
        )

    emit_item({**item, "releases": releases}, output, show)


@app.command("delete")
def delete_application(application: ApplicationArgument) -> None:
    """Delete an application and all its releases (refused while any release is deployed)."""
    api = client.from_environment()
    application_id = resolve.application(api, application)
    api.delete(f"/applications/{application_id}")
    note(f"deleted application {application}")
