"""Domain errors: each carries the HTTP meaning the one central handler answers with."""

from __future__ import annotations

from typing import Any, ClassVar


class EdgedockError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(
        self, message: str, *, field: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}


class Invalid(EdgedockError):
    status = 422
    code = "invalid"


class Unauthorized(EdgedockError):
    status = 401
    code = "unauthorized"


class Forbidden(EdgedockError):
    status = 403
    code = "forbidden"


class NotFound(EdgedockError):
    status = 404
    code = "not_found"


class MethodNotAllowed(EdgedockError):
    status = 405
    code = "method_not_allowed"


class Conflict(EdgedockError):
    status = 409
    code = "conflict"


class Gone(EdgedockError):
    status = 410
    code = "gone"


class Unavailable(EdgedockError):
    """Something the server depends on is down; the answer carries ``Retry-After``."""

    status = 503
    code = "unavailable"
    retry_after: ClassVar[int] = 5


class ConfigurationError(EdgedockError):
    """A problem with how the server was set up; raised at start-up, never mid-request."""

    status = 500
    code = "configuration_error"
