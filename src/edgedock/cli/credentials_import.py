"""`edgedock credentials import`: the logins of docker's config.json or podman's auth.json.

Each registry of the file becomes credentials labelled by it and bound to it. Passwords go to
the server in the request body only; the table and the JSON answer name users, never secrets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from edgedock.cli import client, credential_helpers
from edgedock.cli.auth_files import AuthEntry, AuthFile, AuthFileError, read_auth_file
from edgedock.cli.auth_files import default_paths as auth_file_paths
from edgedock.cli.output import (
    OutputFormat,
    OutputOption,
    fail,
    is_data,
    note,
    print_data,
    print_table,
)
from edgedock.text import fold

CREATED, REPLACED, SKIPPED, FAILED = "created", "replaced", "skipped", "failed"


@dataclass(frozen=True)
class Planned:
    """What happens to one entry: ``action`` is create, replace (``old_id``) or skipped."""

    entry: AuthEntry
    label: str
    action: str
    reason: str | None = None
    old_id: str | None = None


def find_auth_file(given: Path | None) -> Path:
    if given is not None:
        return given
    candidates = auth_file_paths(os.environ, Path(os.environ.get("HOME") or Path.home()))
    for path in candidates:
        if path.is_file():
            return path
    fail("no docker or podman auth file found (looked at " + ", ".join(map(str, candidates)) + ")")


def resolve_helpers(auth_file: AuthFile) -> list[AuthEntry]:
    """Ask the helpers for the logins they hold; a helper that cannot answer skips its entry."""
    entries = auth_file.entries
    if auth_file.creds_store:
        try:
            listed = credential_helpers.list_servers(auth_file.creds_store)
            entries = auth_file.with_store_list(listed)
        except credential_helpers.HelperFailed as exc:
            typer.echo(f"warning: {exc}; importing only the registries the file names", err=True)
    resolved = []
    for entry in entries:
        if entry.helper and not entry.skipped:
            try:
                login = credential_helpers.get(entry.helper, entry.key)
                entry = replace(entry, login=login)
            except credential_helpers.HelperFailed as exc:
                entry = replace(entry, skipped=str(exc))
        resolved.append(entry)
    return resolved


def plan(
    entries: list[AuthEntry],
    existing: list[dict[str, Any]],
    *,
    label_prefix: str,
    replace_label: bool,
) -> list[Planned]:
    """Pure: labels, duplicates and existing labels decide each entry's action."""
    by_label = {fold(item["label"]): item for item in existing}
    seen: dict[str, str] = {}
    planned = []
    for entry in entries:
        label = f"{label_prefix}{entry.name}"
        if entry.skipped or entry.login is None:
            planned.append(Planned(entry, label, SKIPPED, entry.skipped or "no login"))
            continue
        if fold(label) in seen:
            reason = f"same label as the file's entry {seen[fold(label)]!r}"
            planned.append(Planned(entry, label, SKIPPED, reason))
            continue
        seen[fold(label)] = entry.key
        old = by_label.get(fold(label))
        if old is None:
            planned.append(Planned(entry, label, "create"))
        elif not replace_label:
            reason = f"label exists ({old['id']}); --replace-label replaces unused ones"
            planned.append(Planned(entry, label, SKIPPED, reason))
        else:
            planned.append(Planned(entry, label, "replace", old_id=str(old["id"])))
    return planned


def carry_out(api: client.ApiClient, step: Planned) -> tuple[str, str | None, str | None]:
    """Create (or delete-then-create) one entry: (outcome, reason, new id)."""
    if step.action == SKIPPED:
        return SKIPPED, step.reason, None
    if step.action == "replace":
        # Labels are unique and credentials immutable: the old ones must go before the new
        # ones can take their label, and the server refuses to delete credentials in use.
        _, refused = api.attempt("DELETE", f"/image-credentials/{step.old_id}")
        if refused:
            return SKIPPED, f"label exists and cannot be replaced: {refused}", None
    login = step.entry.login
    if login is None:  # plan() skips these; kept for the type checker
        return SKIPPED, "no login", None
    body = {
        "label": step.label,
        "username": login.username,
        "password": login.password,
        "registry": step.entry.registry,
    }
    created, refused = api.attempt("POST", "/image-credentials", json=body)
    if refused:
        lost = f" (the old {step.old_id} were deleted)" if step.action == "replace" else ""
        return FAILED, refused + lost, None
    if step.action == "replace":
        return REPLACED, f"old {step.old_id} deleted", str(created["id"])
    return CREATED, None, str(created["id"])


def import_credentials(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="The auth file (default: $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json, "
            "$XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json: the first that "
            "exists).",
        ),
    ] = None,
    label_prefix: Annotated[
        str, typer.Option("--label-prefix", help="Put this before each registry in the labels.")
    ] = "",
    replace_label: Annotated[
        bool,
        typer.Option(
            "--replace-label",
            help="Replace existing credentials of the same label (delete, then create), when "
            "no release in use needs them.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be created; change nothing.")
    ] = False,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Import the logins of docker's config.json or podman's auth.json, one per registry.

    Credential helpers are asked as the docker CLI asks them; tokens are skipped, with the reason.
    """
    path = find_auth_file(file)
    try:
        auth_file = read_auth_file(path)
    except AuthFileError as exc:
        fail(str(exc))
    note(f"reading {path}")
    entries = resolve_helpers(auth_file)
    api = client.from_environment()
    existing = api.paginate("/image-credentials")
    steps = plan(entries, existing, label_prefix=label_prefix, replace_label=replace_label)
    rows: list[dict[str, str | None]] = []
    for step in steps:
        if dry_run:
            outcome = "skipped" if step.action == SKIPPED else f"would {step.action}"
            reason, new_id = step.reason, None
            if step.action == "replace":
                reason = f"old {step.old_id}, if no release in use needs them"
        else:
            outcome, reason, new_id = carry_out(api, step)
        login = step.entry.login
        rows.append(
            {
                "label": step.label,
                "registry": step.entry.registry,
                "username": login.username if login else None,
                "source": step.entry.key,
                "outcome": outcome,
                "reason": reason,
                "id": new_id,
            }
        )
    if is_data(output):
        print_data(rows, output)
    else:
        for row in rows:
            row["said"] = f"{row['outcome']}: {row['reason']}" if row["reason"] else row["outcome"]
        print_table(
            rows,
            [
                ("label", "LABEL"),
                ("registry", "REGISTRY"),
                ("username", "USERNAME"),
                ("said", "OUTCOME"),
            ],
        )
    if any(row["outcome"] == FAILED for row in rows):
        raise typer.Exit(1)
