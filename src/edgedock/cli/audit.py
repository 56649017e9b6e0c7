"""`edgedock audit`: the audit trail over the REST API, newest first."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from edgedock.cli import client, resolve
from edgedock.cli.completion import complete_credentials, complete_devices
from edgedock.cli.output import Column, OutputFormat, OutputOption, emit_list, fail

_RELATIVE = re.compile(r"([0-9]+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_time(value: str, *, now: datetime | None = None) -> str:
    """An ISO 8601 time, or a time ago like 30m, 24h or 7d; returned as ISO 8601 UTC."""
    match = _RELATIVE.fullmatch(value.strip())
    if match:
        amount, unit = int(match[1]), _UNITS[match[2]]
        return ((now or datetime.now(UTC)) - timedelta(**{unit: amount})).isoformat()
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(f"{value!r} is not a time: use ISO 8601 (2026-01-31T12:00:00Z) or 30m, 24h, 7d")
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


def audit(
    credentials: Annotated[
        str | None,
        typer.Option(
            "--credentials",
            help="Only events about these credentials (label or id).",
            autocompletion=complete_credentials,
        ),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(
            "--device", help="Only this device's (name or id).", autocompletion=complete_devices
        ),
    ] = None,
    resource: Annotated[
        str | None, typer.Option("--resource", help="Only events on this resource id.")
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="e.g. releases.created, credentials.deleted")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="ISO 8601 time, or a time ago: 30m, 24h, 7d.")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Same forms as --since.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many events.")] = 100,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show who did what, when: the audit trail, newest first."""
    api = client.from_environment()
    params: dict[str, Any] = {
        "credentials_id": resolve.credentials(api, credentials) if credentials else None,
        "device_id": resolve.device(api, device) if device else None,
        "resource_id": resource,
        "action": action,
        "since": parse_time(since) if since else None,
        "until": parse_time(until) if until else None,
        "limit": min(max(limit, 1), 200),
    }
    params = {k: v for k, v in params.items() if v is not None}
    events: list[dict[str, Any]] = []
    while len(events) < limit:
        page = api.get("/audit-events", params=params)
        events.extend(page["items"])
        if not page.get("next_cursor"):
            break
        params["cursor"] = page["next_cursor"]
    emit_list(
        events[:limit],
        output,
        [
            Column("at", "AT"),
            Column("actor", "ACTOR"),
            Column("action", "ACTION"),
            Column("summary", "SUMMARY"),
            Column("resource_type", "RESOURCE", wide=True),
            Column("resource_id", "RESOURCE ID", wide=True),
        ],
    )
