"""Warm device polls and pings served as plain ASGI, in front of FastAPI.

A fleet's idle traffic is two requests: `GET /device/v1/ping` and the long poll. When this
replica already knows the device's token, answering them is a dict lookup and an asyncio.Event,
and FastAPI's dependency resolution would cost several times that. So this middleware answers
exactly those requests itself, through the same `polls` functions as the FastAPI routes, and
hands everything else over untouched: an unknown token, a malformed query, any error. The
FastAPI routes then answer with their usual validation and error envelope, so behaviour is
the same either way; only the cost differs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from edgedock.crypto import token_hash
from edgedock.device_api import polls
from edgedock.server.state import ServerState

PING = "/device/v1/ping"
DESIRED_STATE = "/device/v1/desired-state"
_NO_STORE = (b"cache-control", b"no-store")


class DeviceFastPath:
    def __init__(self, app: ASGIApp, *, state: Callable[[], ServerState]) -> None:
        self.app = app
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or scope["method"] != "GET" or path not in (PING, DESIRED_STATE):
            await self.app(scope, receive, send)
            return
        state = self._state()
        token, if_none_match = _headers(scope)
        wait = _wait(scope["query_string"])
        device = state.fleet.identity(token_hash(token)) if token is not None else None
        if device is None or token is None or wait is None or state.fleet.closing:
            await self.app(scope, receive, send)
            return
        if path == PING:
            state.fleet.saw(device.id)
            await _send(send, 204, [])
            return
        try:
            answer = await polls.desired_state(
                state.database,
                state.fleet,
                state.bodies,
                token=token,
                if_none_match=if_none_match,
                wait=min(wait, state.settings.max_poll_wait),
            )
        except Exception:  # nothing was sent yet: let FastAPI answer it its usual way
            await self.app(scope, receive, send)
            return
        etag = (b"etag", answer.etag.encode())
        if answer.body is None:
            await _send(send, 304, [etag])
        else:
            headers = [etag, _NO_STORE, (b"content-type", b"application/json")]
            await _send(send, 200, headers, answer.body.encode())


def _headers(scope: Scope) -> tuple[str | None, str | None]:
    token = if_none_match = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials:
                token = credentials
        elif name == b"if-none-match":
            if_none_match = value.decode("latin-1")
    return token, if_none_match


def _wait(query: bytes) -> float | None:
    """The `wait` parameter when it is one valid number (or absent), else None."""
    if not query:
        return 0.0
    params = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    if len(params) != 1 or params[0][0] != "wait":
        return None
    try:
        wait = float(params[0][1])
    except ValueError:
        return None
    return wait if math.isfinite(wait) and 0 <= wait <= 3600 else None


async def _send(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> None:
    if body:
        headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
