"""`edgedock deploy …`: deployments over the REST API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from edgedock.cli import client
from edgedock.cli.output import fail, print_fields, print_json, print_table

app = typer.Typer(help="Deployments: one release on one device.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _show(item: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(item)
        return
    print_fields(
        [
            ("id", item["id"]),
            ("device", item["device"]),
            ("release", f"{item['application']} {item['version']}"),
            ("desired", item["desired"]),
            ("status", item["status"]),
            ("updated", item["updated_at"]),
        ]
    )
    typer.echo("")
    print_table(
        item["containers"],
        [("name", "CONTAINER"), ("image", "IMAGE"), ("status", "STATUS"), ("message", "MESSAGE")],
    )


@app.command("create")
def create_deployment(
    release: Annotated[str, typer.Option(help="The release id.")],
    device: Annotated[
        list[str], typer.Option(help="A device id; repeat it to deploy to several at once.")
    ],
    stopped: Annotated[bool, typer.Option("--stopped", help="Deploy without starting.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Deploy a release to devices (all of them or none); prints the deployment ids."""
    desired = "stopped" if stopped else "started"
    api = client.from_environment()
    if len(device) == 1:
        created = [
            api.post(
                "/deployments",
                json={"release_id": release, "device_id": device[0], "desired": desired},
            )
        ]
    else:
        created = api.post(
            "/deployments/bulk",
            json={"release_id": release, "device_ids": device, "desired": desired},
        )["items"]
    if as_json:
        print_json(created[0] if len(device) == 1 else created)
    else:
        for item in created:
            typer.echo(item["id"])


@app.command("list")
def list_deployments(
    device: Annotated[str | None, typer.Option(help="Only this device's.")] = None,
    as_json: JsonOption = False,
) -> None:
    items = client.from_environment().paginate(
        "/deployments", {"device_id": device} if device else None
    )
    if as_json:
        print_json(items)
        return
    for item in items:
        item["release"] = f"{item['application']} {item['version']}"
    print_table(
        items,
        [
            ("id", "ID"),
            ("device", "DEVICE"),
            ("release", "RELEASE"),
            ("desired", "DESIRED"),
            ("status", "STATUS"),
        ],
    )


@app.command("show")
def show_deployment(deployment_id: str, as_json: JsonOption = False) -> None:
    _show(client.from_environment().get(f"/deployments/{deployment_id}"), as_json)


@app.command("events")
def deployment_events(deployment_id: str, as_json: JsonOption = False) -> None:
    """The deployment's timeline, newest first."""
    items = client.from_environment().paginate(f"/deployments/{deployment_id}/events")
    if as_json:
        print_json(items)
        return
    print_table(
        items, [("at", "AT"), ("kind", "KIND"), ("container", "CONTAINER"), ("message", "MESSAGE")]
    )


@app.command("start")
def start_deployment(deployment_id: str, as_json: JsonOption = False) -> None:
    _show(client.from_environment().post(f"/deployments/{deployment_id}/start"), as_json)


@app.command("stop")
def stop_deployment(deployment_id: str, as_json: JsonOption = False) -> None:
    _show(client.from_environment().post(f"/deployments/{deployment_id}/stop"), as_json)


@app.command("upgrade")
def upgrade_deployment(
    deployment_id: Annotated[
        str | None, typer.Argument(help="The deployment to upgrade; omit it with --from/--to.")
    ] = None,
    release: Annotated[
        str | None, typer.Option(help="A release of the same application (with DEPLOYMENT_ID).")
    ] = None,
    from_release: Annotated[
        str | None,
        typer.Option("--from", help="Upgrade every deployment of this release id …"),
    ] = None,
    to_release: Annotated[str | None, typer.Option("--to", help="… to this release id.")] = None,
    device: Annotated[
        list[str] | None,
        typer.Option(help="With --from/--to: only this device's; repeat it for several."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Upgrade one deployment (DEPLOYMENT_ID --release R), or every deployment of a release
    (--from R1 --to R2, in one transaction); prints what was upgraded and what was left."""
    api = client.from_environment()
    if deployment_id is not None:
        if release is None or from_release or to_release or device:
            fail("give DEPLOYMENT_ID with --release, or --from and --to without DEPLOYMENT_ID")
        _show(
            api.post(f"/deployments/{deployment_id}/upgrade", json={"release_id": release}), as_json
        )
        return
    if from_release is None or to_release is None or release is not None:
        fail("give --from and --to (every deployment of a release), or DEPLOYMENT_ID --release")
    body: dict[str, Any] = {"from_release": from_release, "to_release": to_release}
    if device:
        body["devices"] = device
    result = api.post("/deployments/upgrade", json=body)
    if as_json:
        print_json(result)
        return
    for item in result["upgraded"]:
        typer.echo(item["id"])
    for skipped in result["skipped"]:
        typer.echo(
            f"skipped {skipped['device'] or skipped['device_id']}: {skipped['reason']}", err=True
        )
    typer.echo(f"{len(result['upgraded'])} deployment(s) upgraded", err=True)


@app.command("delete")
def delete_deployment(deployment_id: str) -> None:
    """Delete the deployment; the device's agent removes its containers."""
    client.from_environment().delete(f"/deployments/{deployment_id}")
    typer.echo(f"deleted {deployment_id}", err=True)
