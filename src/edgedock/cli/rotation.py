"""`edgedock credentials replace`: rotate credentials across releases and deployments."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from edgedock.cli import client
from edgedock.cli.output import fail, print_json, print_table


def _versions(pairs: list[str]) -> dict[str, str]:
    versions: dict[str, str] = {}
    for pair in pairs:
        release, sep, version = pair.partition("=")
        if not sep or not release.strip() or not version.strip():
            fail(f"--version takes RELEASE_ID=VERSION, not {pair!r}")
        versions[release.strip()] = version.strip()
    return versions


def replace_credentials(
    old: Annotated[str, typer.Argument(help="The id of the credentials to replace.")],
    new: Annotated[str, typer.Option("--with", help="The id of the credentials that take over.")],
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
            help="RELEASE_ID=VERSION: the successor version of one release (default: the "
            "next patch). Repeatable.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """New releases with the new credentials for every release that is deployed or its
    application's highest, and every deployment upgraded: one transaction, printed as a plan."""
    body: dict[str, Any] = {"with": new, "dry_run": dry_run, "force": force, "check": check}
    if version:
        body["versions"] = _versions(version)
    plan = client.from_environment().post(f"/image-credentials/{old}/replace", json=body)
    if as_json:
        print_json(plan)
    else:
        print_plan(plan)
    if dry_run:
        typer.echo("dry run: nothing was changed", err=True)


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
    for note in plan["overridden"]:
        typer.echo(f"forced: {note}", err=True)
