"""Form handling shared by the pages: errors keyed by field, and optional query values.

Field names follow the REST API's `field` (`containers[1].image`), so one vocabulary names a
bad value everywhere. Messages never repeat the value: the input may be a password.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ValidationError

from edgedock.errors import EdgedockError, Invalid

FieldErrors = dict[str, str]


class FormInvalid(Exception):
    """The form itself is wrong in a way only the page sees; its errors are already placed."""


def field_name(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "form"


def errors_of(exc: ValidationError) -> FieldErrors:
    """The first message for each field."""
    errors: FieldErrors = {}
    for error in exc.errors(include_input=False):
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        errors.setdefault(field_name(tuple(error.get("loc", ()))), message)
    return errors


def error_of(exc: EdgedockError) -> FieldErrors | None:
    """A domain error that names a field belongs next to it; any other goes to the handler."""
    return {exc.field: exc.message} if exc.field else None


def optional_uuid(value: str | None, *, field: str) -> uuid.UUID | None:
    """`""` (an "any" choice in a filter form) means no value; anything else must be an id."""
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Invalid(f"{field} must be an id", field=field) from None


def optional_time(value: str | None, *, field: str) -> datetime | None:
    """A `datetime-local` input's value (no zone): taken as UTC by the audit filter."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{field} must be a date and time", field=field) from None
