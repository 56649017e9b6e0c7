"""`edgedock credentials replace`: rotate credentials across releases and deployments."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from edgedock.cli import client, resolve
from edgedock.cli.client import ApiClient
from edgedock.cli.completion import complete_credentials
from edgedock.cli.output import OutputFormat, OutputOption, fail, note, print_data, print_table


def _versions(api: ApiClient, pairs: list[str]) -> dict[str, str]:
    versions: dict[str, str] = {}
    for pair in pairs:
        release, sep, version = pair.rpartition("=")
        if not sep or not release.strip() or not version.strip():
            fail(f"--version takes RELEASE=VERSION (RELEASE as APP@VERSION or id), not {pair!r}")
        versions[resolve.release(api, release.strip())] = version.strip()
    return versions


def replace_credentials(
    old: Annotated[
        str,
        typer.Argument(
            help="The label or id of the credentials to replace.",
            metavar="OLD",
            autocompletion=complete_credentials,
        ),
    ],
    new: Annotated[
        str,
        typer.Option(
            "--with",
            help="The label or id of the credentials that take over.",
            metavar="NEW",
            autocompletion=complete_credentials,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; change nothing.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Go ahead although the new credentials are known for another registry."
        ),
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Check the new credentials against every image first."),
    ] = False,
    version: Annotated[
        list[str] | None,
        typer.Option(
            "--version",
            help="RELEASE=VERSION: the successor version of one release, named as "
            "APP@VERSION or by id (default: the next patch). Repeatable.",
            metavar="RELEASE=VERSION",
        ),
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """New releases with the new credentials for every release that is deployed or its
    application's highest, and every deployment upgraded: one transaction, printed as a plan."""
    api = client.from_environment()
    old_id, new_id = resolve.credentials(api, old), resolve.credentials(api, new)
    body: dict[str, Any] = {"with": new_id, "dry_run": dry_run, "force": force, "check": check}
    if version:
        body["versions"] = _versions(api, version)
    plan = api.post(f"/image-credentials/{old_id}/replace", json=body)
    if output in (OutputFormat.json, OutputFormat.yaml):
        print_data(plan, output)
    else:
        print_plan(plan)
    if dry_run:
        note("dry run: nothing was changed")


def print_plan(plan: dict[str, Any]) -> None:
    old, new = plan["old"], plan["new"]
    typer.echo(f"replace {old['label']} ({old['id']}) with {new['label']} ({new['id']})")
    typer.echo("\nReleases:")
    print_table(
        [
            {**r, "containers": ",".join(r["containers"]), "to": r["to_release_id"]}
            for r in plan["releases"]
        ],
        [
            ("application", "APPLICATION"),
            ("from_version", "FROM"),
            ("to_version", "TO"),
            ("from_release_id", "RELEASE"),
            ("to", "NEW RELEASE"),
            ("containers", "CONTAINERS"),
        ],
    )
    typer.echo("\nDeployments:")
    print_table(
        plan["deployments"],
        [
            ("device", "DEVICE"),
            ("application", "APPLICATION"),
            ("from_version", "FROM"),
            ("to_version", "TO"),
            ("deployment_id", "DEPLOYMENT"),
        ],
    )
    devices = ", ".join(d["name"] for d in plan["devices"]) or "none"
    typer.echo(
        f"\n{len(plan['releases'])} release(s) in {len(plan['applications'])} application(s), "
        f"{len(plan['deployments'])} deployment(s), devices: {devices}"
    )
    for overridden in plan["overridden"]:
        note(f"forced: {overridden}")
