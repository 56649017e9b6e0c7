"""Request bodies are read whole, bounded in size and time, before any route code runs.

Why a middleware that buffers, rather than FastAPI's own reading:

* FastAPI and the form parser read a body in full, as fast as the client sends it, into
  memory and with no limit: four unauthenticated 20 MB bodies took a server to ~1 GB.
  Here a declared `Content-Length` over the limit is refused before a byte is read, and a
  chunked body is counted as it arrives and cut off at the limit.
* Route dependencies run in order, and the per-request database session (which on SQLite is
  the one writer's turn, and on PostgreSQL one of a few connection slots) was opened before
  the sign-in form was read: one client trickling its body stalled every device's poll. Read
  here, the body is complete before any dependency runs, within a deadline (408 after it).
* API and device routes need a bearer token; a request that carries a body but no token is
  refused before the body is read, so the anonymous cannot make the server read anything.

Requests without a body (no Content-Length, no Transfer-Encoding: every long poll) pass
through untouched. A buffered body costs at most `max_bytes` of memory per request.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edgedock.server import handlers

_TOKEN_PREFIXES = {
    "/api/": "an API token is required: Authorization: Bearer <token>",
    "/device/": "a device token is required: Authorization: Bearer <device token>",
}


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = _declared_length(headers)
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if not chunked and not declared:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse_too_large(request, scope, receive, send)
            return
        unauthenticated = _missing_token(scope["path"], headers)
        if unauthenticated is not None:
            await self._answer(
                request,
                401,
                "unauthorized",
                unauthenticated,
                scope,
                receive,
                send,
                headers={"WWW-Authenticate": "Bearer"},
            )
            return
        try:
            async with asyncio.timeout(self.timeout):
                body = await self._read(receive)
        except _TooLarge:
            await self._refuse_too_large(request, scope, receive, send)
            return
        except TimeoutError:
            message = f"the request body did not arrive within {self.timeout:g} seconds"
            await self._answer(request, 408, "request_timeout", message, scope, receive, send)
            return
        except _Disconnected:
            return  # nobody is left to answer
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse_too_large(
        self, request: Request, scope: Scope, receive: Receive, send: Send
    ) -> None:
        message = f"the request body is larger than {self.max_bytes} bytes"
        await self._answer(request, 413, "too_large", message, scope, receive, send)

    async def _answer(
        self,
        request: Request,
        status: int,
        code: str,
        message: str,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        # The rest of the body is never read: the connection cannot be reused after this.
        response = handlers.error_response(request, status, code, message, headers=headers)
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _declared_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None  # the HTTP server refuses these before they reach the app


def _missing_token(path: str, headers: Headers) -> str | None:
    for prefix, message in _TOKEN_PREFIXES.items():
        if path.startswith(prefix):
            scheme, _, token = headers.get("authorization", "").partition(" ")
            return message if scheme.lower() != "bearer" or not token.strip() else None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """The buffered body once, then the real channel (so a disconnect is still seen)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
