"""The one place where errors become HTTP answers, for JSON and pages alike."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from edgedock.errors import EdgedockError, Unavailable
from edgedock.outages import DatabaseUnavailable, unavailability
from edgedock.text import scrub

log = logging.getLogger("edgedock.server")

MAX_MESSAGE = 1000
MAX_FIELD = 200
MAX_ERRORS = 50

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
}


def _wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/device/", "/registry/")) or path == "/openapi.json":
        return True
    return "text/html" not in request.headers.get("accept", "")


def _render(
    request: Request,
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    if not _wants_json(request):
        render = getattr(request.app.state, "render_error", None)
        if render is not None:
            response: Response = render(request, status, message)
            return response
    # Messages and fields may name a value the client sent (a dict key, an id): made encodable
    # and bounded here, so that answering a bad input can never itself fail.
    body: dict[str, Any] = {"code": code, "message": scrub(message, MAX_MESSAGE)}
    if field:
        body["field"] = scrub(field, MAX_FIELD)
    if extra:
        body.update(extra)
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-plain") or str(part).startswith("function-"):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def _validation_message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    # Pydantic prefixes messages raised by our own validators; the prefix says nothing to users.
    return message.removeprefix("Value error, ")


def install(app: FastAPI) -> None:
    async def on_edgedock_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, EdgedockError)
        headers: dict[str, str] | None = None
        if isinstance(exc, Unavailable):
            # Expected in an outage: one line per request, no traceback, and an answer that
            # keeps the connection open and tells clients when to come back.
            reason = getattr(exc, "reason", None)
            detail = f"{exc.code} ({reason})" if reason else exc.code
            log.warning("%s %s: %s", request.method, request.url.path, detail)
            headers = {"Retry-After": str(exc.retry_after)}
        elif exc.status == 500:
            # The message of an internal error names internal things (key ids, tenant and
            # credential ids): it goes to the log, and the client, often a device, gets
            # the same fixed answer as for any other server fault.
            log.error("%s: %s", exc.code, exc.message)
            return _render(request, 500, "internal_error", "internal server error")
        elif exc.status > 500:
            log.error("%s: %s", exc.code, exc.message)
        if exc.status == 401:
            # A registry's token endpoint challenges for Basic auth (registries/issuing.py).
            headers = {"WWW-Authenticate": getattr(exc, "challenge", None) or "Bearer"}
        return _render(
            request,
            exc.status,
            exc.code,
            exc.message,
            field=exc.field,
            extra=exc.details,
            headers=headers,
        )

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = list(exc.errors())
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
        field = _field_of(tuple(first.get("loc", ())))
        details = [
            {
                "field": scrub(_field_of(tuple(e.get("loc", ()))), MAX_FIELD),
                "message": scrub(_validation_message(e), MAX_MESSAGE),
            }
            for e in errors[:MAX_ERRORS]
        ]
        # Never echo `input`: it may be the password.
        return _render(
            request,
            422,
            "invalid",
            f"{field}: {_validation_message(first)}",
            field=field,
            extra={"errors": details},
        )

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return _render(request, exc.status_code, code, message, headers=exc.headers)

    async def on_database_error(request: Request, exc: Exception) -> Response:
        """A driver error that escaped the units of work (they translate their own)."""
        reason = unavailability(exc)
        if reason is not None:
            return await on_edgedock_error(request, DatabaseUnavailable(reason))
        return await on_unexpected(request, exc)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.error(
            "unexpected error on %s %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
            exc_info=exc,
        )
        return _render(request, 500, "internal_error", "internal server error")

    app.add_exception_handler(EdgedockError, on_edgedock_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    # Registered on the classes, not left to the catch-all: the catch-all answers from
    # Starlette's outermost middleware, which re-raises and so closes the connection.
    app.add_exception_handler(DBAPIError, on_database_error)
    app.add_exception_handler(SQLAlchemyTimeoutError, on_database_error)
    app.add_exception_handler(Exception, on_unexpected)


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The same answer as the handlers give, for middleware that answers before any route."""
    return _render(request, status, code, message, headers=headers)
