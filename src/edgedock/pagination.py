"""Opaque keyset cursors: stable under inserts, cheap on big tables, unlike offsets."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, or_
from sqlalchemy.orm import InstrumentedAttribute

from edgedock.errors import Invalid
from edgedock.text import fold

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, size: int, types: tuple[type, ...] | None = None) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _bad_cursor() from exc
    if not isinstance(values, list) or len(values) != size:
        raise _bad_cursor()
    if types and not all(isinstance(v, t) for v, t in zip(values, types, strict=True)):
        raise _bad_cursor()
    return values


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    return limit


def _bad_cursor() -> Invalid:
    return Invalid("cursor is not one this server handed out", field="cursor")


def matching(
    stmt: Select[Any], q: str | None, *columns: ColumnElement[str] | InstrumentedAttribute[str]
) -> Select[Any]:
    """Keep rows where any of `columns` (folded keys or lower-cased text) contains `q`."""
    if not q or not q.strip():
        return stmt
    escaped = fold(q.strip()).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return stmt.where(or_(*(column.like(f"%{escaped}%", escape="\\") for column in columns)))


def by_name_key(
    stmt: Select[Any],
    *,
    key: InstrumentedAttribute[str],
    id_: InstrumentedAttribute[uuid.UUID],
    cursor: str | None,
    limit: int,
) -> Select[Any]:
    """Order by (name key, id) and start after the cursor's row: a stable keyset page."""
    check_limit(limit)
    if cursor:
        last_key, last_id = decode_cursor(cursor, size=2, types=(str, str))
        try:
            last_uuid = uuid.UUID(last_id)
        except ValueError:
            raise _bad_cursor() from None
        stmt = stmt.where(or_(key > last_key, (key == last_key) & (id_ > last_uuid)))
    return stmt.order_by(key, id_).limit(limit + 1)


def split_page(rows: list[T], *, limit: int, key: str) -> tuple[list[T], str | None]:
    """The page and the cursor of the next one, from `limit + 1` rows read by `by_name_key`."""
    page = rows[:limit]
    if len(rows) <= limit:
        return page, None
    last = page[-1]
    return page, encode_cursor([getattr(last, key), str(last.id)])  # type: ignore[attr-defined]
