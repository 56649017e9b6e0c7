"""The release form: container rows as the page shows them, and the request they make.

A fixed number of rows is shown (more on request); rows left empty are ignored. Errors come
back keyed the REST API's way (`containers[1].image`, counting only the rows that were filled)
and are put back on the row and input they belong to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from edgedock.server.forms import FieldErrors

DEFAULT_ROWS = 3
MAX_ROWS = 20
_ROW_ERROR = re.compile(r"^containers\[(\d+)\](?:\.([a-z_]+))?")
# REST field → the input of the row that holds it.
_INPUTS = {
    "name": "name",
    "image": "image",
    "image_credentials_id": "credentials_id",
    "port_bindings": "ports",
    "env": "env",
    "restart_policy": "restart_policy",
}


@dataclass
class ContainerRow:
    index: int
    name: str = ""
    image: str = ""
    credentials_id: str = ""
    ports: str = ""
    env: str = ""
    restart_policy: str = "no"
    errors: FieldErrors = field(default_factory=dict)

    @property
    def filled(self) -> bool:
        return any((self.name, self.image, self.credentials_id, self.ports, self.env))


def row_count(value: str | int | None) -> int:
    try:
        count = int(value or DEFAULT_ROWS)
    except ValueError:
        count = DEFAULT_ROWS
    return max(1, min(MAX_ROWS, count))


def empty_rows(count: int) -> list[ContainerRow]:
    return [ContainerRow(index=i) for i in range(count)]


def rows_from(form: FormData) -> list[ContainerRow]:
    def get(i: int, name: str) -> str:
        value = form.get(f"containers-{i}-{name}")
        return value.strip() if isinstance(value, str) else ""

    rows = form.get("rows")
    count = row_count(rows if isinstance(rows, str) else None)
    return [
        ContainerRow(
            index=i,
            name=get(i, "name"),
            image=get(i, "image"),
            credentials_id=get(i, "credentials_id"),
            ports=get(i, "ports"),
            env=get(i, "env"),
            restart_policy=get(i, "restart_policy") or "no",
        )
        for i in range(count)
    ]


def _env(row: ContainerRow) -> dict[str, str] | None:
    env: dict[str, str] = {}
    for line in row.env.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep:
            row.errors["env"] = "each line must look like NAME=value"
            return None
        env[name.strip()] = value
    return env


def request_body(version: str, rows: list[ContainerRow]) -> tuple[dict[str, Any], list[int]]:
    """The ReleaseCreate input, and which row each of its containers came from.

    Problems only the form can have (a malformed env line) are put on the row directly.
    """
    containers, used = [], []
    for row in rows:
        if not row.filled:
            continue
        env = _env(row)
        containers.append(
            {
                "name": row.name,
                "image": row.image,
                "image_credentials_id": row.credentials_id or None,
                "port_bindings": [p for p in re.split(r"[\s,]+", row.ports) if p],
                "env": env or {},
                "restart_policy": row.restart_policy,
            }
        )
        used.append(row.index)
    return {"version": version.strip(), "containers": containers}, used


def place_errors(errors: FieldErrors, rows: list[ContainerRow], used: list[int]) -> FieldErrors:
    """Put each container error on its row; returns the errors that belong to the whole form."""
    general: FieldErrors = {}
    for key, message in errors.items():
        match = _ROW_ERROR.match(key)
        if match is None or int(match.group(1)) >= len(used):
            if key == "containers":
                message = "fill in at least one container: a name and an image"
            general.setdefault(key, message)
            continue
        row = rows[used[int(match.group(1))]]
        row.errors.setdefault(_INPUTS.get(match.group(2) or "", "row"), message)
    return general


def has_errors(rows: list[ContainerRow]) -> bool:
    return any(row.errors for row in rows)
