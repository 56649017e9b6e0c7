"""One keyset cursor type for every list: stable under inserts and deletes, cheap on big tables.

A cursor carries the sort-key values of the last row of its page (never a row id to look up),
so it stays valid when that row is deleted, and it cannot point into another tenant's rows: it
is only a position in the order, applied under the list's own tenant filter. It is opaque to
clients (URL-safe base64 of JSON) and validated value by value on the way back in, so a cursor
that was edited or forged is a 422 on `cursor`, never a database error.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from edgedock.errors import Invalid
from edgedock.text import NAME_KEY_MAX, fold, has_lone_surrogate

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
# A name-list cursor holds a folded name key (400 characters, up to 4 UTF-8 bytes each) and an
# id: about 2,200 characters once encoded. Routes bound their `cursor` parameter by this.
MAX_CURSOR_LENGTH = 4096
# Sequence numbers are BIGINT (SQLite's INTEGER is 64-bit as well).
_MAX_INT = 2**63 - 1

T = TypeVar("T")
KeyKind = Literal["str", "int", "uuid", "datetime"]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    return limit


def _bad_cursor() -> Invalid:
    return Invalid("cursor is not one this server handed out", field="cursor")


@dataclass(frozen=True)
class SortKey:
    column: InstrumentedAttribute[Any]
    kind: KeyKind


@dataclass(frozen=True)
class Keyset:
    """The order of one list: its name (written into its cursors) and its sort-key columns.

    The last column must make the order total (an id or a sequence number).
    """

    name: str
    keys: tuple[SortKey, ...]
    descending: bool = False

    def encode(self, row: Any) -> str:
        values = [_encode_value(getattr(row, k.column.key), k.kind) for k in self.keys]
        raw = json.dumps([self.name, *values], separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> list[Any]:
        """The sort-key values in `cursor`, each of its column's type; `Invalid` otherwise."""
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise _bad_cursor()
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            values = json.loads(raw)
        except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise _bad_cursor() from exc
        if (
            not isinstance(values, list)
            or len(values) != len(self.keys) + 1
            or values[0] != self.name
        ):
            raise _bad_cursor()
        return [_decode_value(v, k.kind) for v, k in zip(values[1:], self.keys, strict=True)]

    def apply(self, stmt: Select[Any], *, cursor: str | None, limit: int) -> Select[Any]:
        """`stmt` ordered by the keys, starting after the cursor, reading one row more than a page.

        The extra row tells `split` whether there is a next page.
        """
        check_limit(limit)
        columns = [k.column for k in self.keys]
        if cursor:
            stmt = stmt.where(_after(columns, self.decode(cursor), descending=self.descending))
        order = [c.desc() if self.descending else c.asc() for c in columns]
        return stmt.order_by(*order).limit(limit + 1)

    def split(self, rows: Sequence[T], *, limit: int) -> tuple[list[T], str | None]:
        """The page and the cursor of the next one, from the `limit + 1` rows `apply` read."""
        page = list(rows[:limit])
        if len(rows) <= limit:
            return page, None
        return page, self.encode(page[-1])


def _after(
    columns: list[InstrumentedAttribute[Any]], values: list[Any], *, descending: bool
) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order: a row-value comparison spelled out portably."""
    alternatives = []
    for i, column in enumerate(columns):
        beyond = column < values[i] if descending else column > values[i]
        alternatives.append(and_(*(columns[j] == values[j] for j in range(i)), beyond))
    return or_(*alternatives)


def _encode_value(value: Any, kind: KeyKind) -> Any:
    if kind == "datetime":
        assert isinstance(value, datetime)
        return value.astimezone(UTC).isoformat()
    if kind == "uuid":
        return str(value)
    return value


def _decode_value(value: Any, kind: KeyKind) -> Any:
    if kind == "int":
        # bool is an int to Python; a sequence beyond BIGINT is one no database holds.
        if type(value) is not int or not 0 <= value <= _MAX_INT:
            raise _bad_cursor()
        return value
    if not isinstance(value, str) or has_lone_surrogate(value) or "\x00" in value:
        raise _bad_cursor()
    if kind == "str":
        if len(value) > NAME_KEY_MAX:
            raise _bad_cursor()
        return value
    if kind == "uuid":
        if len(value) != 36:
            raise _bad_cursor()
        try:
            return uuid.UUID(value)
        except ValueError:
            raise _bad_cursor() from None
    if len(value) > 40:
        raise _bad_cursor()
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise _bad_cursor()
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _bad_cursor() from None


def matching(
    stmt: Select[Any], q: str | None, *columns: ColumnElement[str] | InstrumentedAttribute[str]
) -> Select[Any]:
    """Keep rows where any of `columns` (folded keys or lower-cased text) contains `q`."""
    if not q or not q.strip():
        return stmt
    if has_lone_surrogate(q) or "\x00" in q:
        raise Invalid("q must be valid text", field="q")
    escaped = fold(q.strip()).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return stmt.where(or_(*(column.like(f"%{escaped}%", escape="\\") for column in columns)))


def named(
    stmt: Select[Any],
    value: str | None,
    column: ColumnElement[str] | InstrumentedAttribute[str],
    *,
    field: str,
) -> Select[Any]:
    """Keep the row whose folded key `column` equals `value` folded: the exact `?name=` filter
    (names are unique under that key, so it finds one row or none)."""
    if value is None:
        return stmt
    if has_lone_surrogate(value) or "\x00" in value:
        raise Invalid(f"{field} must be valid text", field=field)
    return stmt.where(column == fold(value.strip()))
