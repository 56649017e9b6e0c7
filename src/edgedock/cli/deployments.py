"""`edgedock deploy …`: deployments over the REST API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from edgedock.cli import client, resolve
from edgedock.cli.completion import complete_deployments, complete_devices, complete_releases
from edgedock.cli.output import (
    Column,
    OutputFormat,
    OutputOption,
    emit_item,
    emit_list,
    fail,
    note,
    print_data,
    print_fields,
)

app = typer.Typer(help="Deployments: one release on one device.", no_args_is_help=True)

DeploymentArgument = Annotated[
    str,
    typer.Argument(
        help="DEVICE/APP (gw-lab-2/sensor-gateway: an application is deployed once per "
        "device), or the deployment's id.",
        metavar="DEPLOYMENT",
        autocompletion=complete_deployments,
    ),
]
RELEASE_HELP = "APP@VERSION (sensor-gateway@1.2.0), a version only one application has, or an id."

COLUMNS = [
    Column("id", "ID"),
    Column("device", "DEVICE"),
    Column("release", "RELEASE"),
    Column("desired", "DESIRED"),
    Column("status", "STATUS"),
    Column("updated_at", "UPDATED", wide=True),
    Column("release_id", "RELEASE ID", wide=True),
]


def _row(item: dict[str, Any]) -> dict[str, Any]:
    item["release"] = f"{item['application']}@{item['version']}"
    return item


def _show(item: dict[str, Any], output: OutputFormat) -> None:
    def show(wide: bool) -> None:
        print_fields(
            [
                ("id", item["id"]),
                ("device", item["device"]),
                ("release", f"{item['application']}@{item['version']}"),
                ("desired", item["desired"]),
                ("status", item["status"]),
                ("updated", item["updated_at"]),
            ]
        )
        typer.echo("")
        emit_list(
            item["containers"],
            OutputFormat.wide if wide else OutputFormat.table,
            [
                Column("name", "CONTAINER"),
                Column("image", "IMAGE"),
                Column("status", "STATUS"),
                Column("message", "MESSAGE"),
                Column("updated_at", "UPDATED", wide=True),
            ],
        )

    emit_item(item, output, show)


@app.command("create")
def create_deployment(
    release: Annotated[str, typer.Option(help=RELEASE_HELP, autocompletion=complete_releases)],
    device: Annotated[
        list[str],
        typer.Option(
            help="A device's name or id; repeat it to deploy to several at once.",
            autocompletion=complete_devices,
        ),
    ],
    stopped: Annotated[bool, typer.Option("--stopped", help="Deploy without starting.")] = False,
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--output",
            "-o",
            help="json or yaml: print the deployments; table and wide print their ids.",
            case_sensitive=False,
        ),
    ] = OutputFormat.table,
) -> None:
    """Deploy a release to devices (all of them or none); prints the deployment ids."""
    desired = "stopped" if stopped else "started"
    api = client.from_environment()
    release_id = resolve.release(api, release)
    device_ids = resolve.devices(api, device)
    body: dict[str, Any]
    if len(device_ids) == 1:
        body = {"release_id": release_id, "device_id": device_ids[0], "desired": desired}
        created = [api.post("/deployments", json=body)]
    else:
        body = {"release_id": release_id, "device_ids": device_ids, "desired": desired}
        created = api.post("/deployments/bulk", json=body)["items"]
    if output in (OutputFormat.json, OutputFormat.yaml):
        print_data(created[0] if len(device_ids) == 1 else created, output)
    else:
        for item in created:
            typer.echo(item["id"])


@app.command("list")
def list_deployments(
    device: Annotated[
        str | None,
        typer.Option(help="Only this device's (name or id).", autocompletion=complete_devices),
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Deployments, newest first: what runs where, and its status."""
    api = client.from_environment()
    params = {"device_id": resolve.device(api, device)} if device else None
    emit_list(api.paginate("/deployments", params), output, COLUMNS, prepare=_row)


@app.command("show")
def show_deployment(
    deployment: DeploymentArgument, output: OutputOption = OutputFormat.table
) -> None:
    """A deployment with each container's status and last message."""
    api = client.from_environment()
    _show(api.get(f"/deployments/{resolve.deployment(api, deployment)}"), output)


@app.command("events")
def deployment_events(
    deployment: DeploymentArgument, output: OutputOption = OutputFormat.table
) -> None:
    """The deployment's timeline, newest first."""
    api = client.from_environment()
    items = api.paginate(f"/deployments/{resolve.deployment(api, deployment)}/events")
    emit_list(
        items,
        output,
        [
            Column("at", "AT"),
            Column("kind", "KIND"),
            Column("container", "CONTAINER"),
            Column("message", "MESSAGE"),
        ],
    )


@app.command("start")
def start_deployment(
    deployment: DeploymentArgument, output: OutputOption = OutputFormat.table
) -> None:
    """Ask the device to start the deployment's containers."""
    api = client.from_environment()
    _show(api.post(f"/deployments/{resolve.deployment(api, deployment)}/start"), output)


@app.command("stop")
def stop_deployment(
    deployment: DeploymentArgument, output: OutputOption = OutputFormat.table
) -> None:
    """Ask the device to stop the deployment's containers (they stay, stopped)."""
    api = client.from_environment()
    _show(api.post(f"/deployments/{resolve.deployment(api, deployment)}/stop"), output)


@app.command("upgrade")
def upgrade_deployment(
    deployment: Annotated[
        str | None,
        typer.Argument(
            help="DEVICE/APP or the deployment's id; omit it with --from/--to.",
            metavar="DEPLOYMENT",
            autocompletion=complete_deployments,
        ),
    ] = None,
    release: Annotated[
        str | None,
        typer.Option(
            help="With DEPLOYMENT: a release of the same application, as VERSION, APP@VERSION "
            "or id.",
            autocompletion=complete_releases,
        ),
    ] = None,
    from_release: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Upgrade every deployment of this release (APP@VERSION or id) …",
            metavar="RELEASE",
            autocompletion=complete_releases,
        ),
    ] = None,
    to_release: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="… to this release: VERSION (of the same application), APP@VERSION or id.",
            metavar="RELEASE",
            autocompletion=complete_releases,
        ),
    ] = None,
    device: Annotated[
        list[str] | None,
        typer.Option(
            help="With --from/--to: only this device's (name or id); repeat it for several.",
            autocompletion=complete_devices,
        ),
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Upgrade one deployment (DEPLOYMENT --release R) or every deployment of a release.

    With --from R1 --to R2 every deployment of R1 moves in one transaction; the ids of those
    upgraded go to stdout, those left (and why) to stderr.
    """
    api = client.from_environment()
    if deployment is not None:
        if release is None or from_release or to_release or device:
            fail("give DEPLOYMENT with --release, or --from and --to without DEPLOYMENT")
        deployment_id = resolve.deployment(api, deployment)
        current = api.get(f"/deployments/{deployment_id}")
        release_id = resolve.release(api, release, application_id=current["application_id"])
        _show(
            api.post(f"/deployments/{deployment_id}/upgrade", json={"release_id": release_id}),
            output,
        )
        return
    if from_release is None or to_release is None or release is not None:
        fail("give --from and --to (every deployment of a release), or DEPLOYMENT --release")
    from_id = resolve.release(api, from_release)
    application_id = api.get(f"/releases/{from_id}")["application_id"]
    body: dict[str, Any] = {
        "from_release": from_id,
        "to_release": resolve.release(api, to_release, application_id=application_id),
    }
    if device:
        body["devices"] = resolve.devices(api, device)
    result = api.post("/deployments/upgrade", json=body)
    if output in (OutputFormat.json, OutputFormat.yaml):
        print_data(result, output)
        return
    for item in result["upgraded"]:
        typer.echo(item["id"])
    for skipped in result["skipped"]:
        note(f"skipped {skipped['device'] or skipped['device_id']}: {skipped['reason']}")
    note(f"{len(result['upgraded'])} deployment(s) upgraded")


@app.command("delete")
def delete_deployment(deployment: DeploymentArgument) -> None:
    """Delete the deployment; the device's agent removes its containers."""
    api = client.from_environment()
    api.delete(f"/deployments/{resolve.deployment(api, deployment)}")
    note(f"deleted deployment {deployment}")
