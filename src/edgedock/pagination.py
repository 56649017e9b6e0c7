"""Opaque keyset cursors: stable under inserts, cheap on big tables, unlike offsets."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from edgedock.errors import Invalid

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
        raise Invalid("cursor is not one this server handed out", field="cursor") from exc
    if not isinstance(values, list) or len(values) != size:
        raise Invalid("cursor is not one this server handed out", field="cursor")
    if types and not all(isinstance(v, t) for v, t in zip(values, types, strict=True)):
        raise Invalid("cursor is not one this server handed out", field="cursor")
    return values


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    return limit
