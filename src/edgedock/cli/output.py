"""What the CLI prints: `-o table|wide|json|yaml` on stdout, one-line errors on stderr.

Data goes to stdout and nothing else does, so `edgedock … -o json | jq` always works; messages
("deleted …", warnings, errors) go to stderr. Tables print times in UTC to the second, the same
for every command; JSON and YAML print the API's values untouched.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

import typer


class OutputFormat(enum.StrEnum):
    table = "table"
    wide = "wide"
    json = "json"
    yaml = "yaml"


OutputOption = Annotated[
    OutputFormat,
    typer.Option(
        "--output",
        "-o",
        help="table (the default), wide (a table with more columns), json or yaml.",
        case_sensitive=False,
    ),
]

CreatedOutputOption = Annotated[
    OutputFormat,
    typer.Option(
        "--output",
        "-o",
        help="json or yaml: print what was created; table and wide print its id alone.",
        case_sensitive=False,
    ),
]


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    wide: bool = False  # shown with -o wide only


def fail(message: str, *, code: int = 1) -> NoReturn:
    """End the command with one line on stderr: later lines of `message` are joined with `; `."""
    typer.echo(f"error: {'; '.join(line.strip() for line in message.splitlines())}", err=True)
    raise typer.Exit(code)


def note(message: str) -> None:
    """A message for the person at the terminal: stderr, never mixed into the data."""
    typer.echo(message, err=True)


def is_data(output: OutputFormat) -> bool:
    """json and yaml: the formats for scripts, printed whole rather than as a table."""
    return output in (OutputFormat.json, OutputFormat.yaml)


def print_data(value: Any, output: OutputFormat) -> None:
    """JSON or YAML of `value`; callers use it for the machine-readable formats."""
    if output is OutputFormat.yaml:
        import yaml

        typer.echo(yaml.safe_dump(_plain(value), sort_keys=False, allow_unicode=True), nl=False)
    else:
        typer.echo(json.dumps(_plain(value), indent=2, ensure_ascii=False))


def print_json(value: Any) -> None:
    print_data(value, OutputFormat.json)


def emit_list(
    items: Sequence[dict[str, Any]],
    output: OutputFormat,
    columns: Sequence[Column],
    *,
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> None:
    """A list read command's output; `prepare` adds the computed cells of a table row."""
    if output in (OutputFormat.json, OutputFormat.yaml):
        print_data(list(items), output)
        return
    rows = [prepare(dict(item)) if prepare else item for item in items]
    shown = [c for c in columns if output is OutputFormat.wide or not c.wide]
    print_table(rows, [(c.key, c.heading) for c in shown])


def emit_item(item: Any, output: OutputFormat, show: Callable[[bool], None]) -> None:
    """A show command's output: JSON/YAML of the item, or `show(wide)` for people."""
    if output in (OutputFormat.json, OutputFormat.yaml):
        print_data(item, output)
    else:
        show(output is OutputFormat.wide)


def emit_created(created: dict[str, Any], output: OutputFormat) -> None:
    """A create command's output: the new id alone on stdout, or the whole object."""
    emit_item(created, output, lambda _wide: typer.echo(created["id"]))


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> None:
    """`columns` are (key, heading) pairs; missing values print as a dash."""
    cells = [[cell(row.get(key)) for key, _ in columns] for row in rows]
    headings = [heading for _, heading in columns]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headings)]
    typer.echo("  ".join(h.ljust(w) for h, w in zip(headings, widths, strict=True)).rstrip())
    for r in cells:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if not rows:
        typer.echo("(none)", err=True)


def print_fields(fields: Sequence[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        typer.echo(f"{key.ljust(width)}  {cell(value)}")


_ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def format_time(value: datetime) -> str:
    """UTC to the second, as every table prints times: 2026-01-31T12:00:05Z."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, str) and _ISO_TIME.match(value):
        return format_time(datetime.fromisoformat(value))
    return str(value)


def _plain(value: Any) -> Any:
    """Values JSON and YAML can print: times as ISO 8601, ids as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
