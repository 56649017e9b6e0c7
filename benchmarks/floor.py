"""The floor: the least a device API can do, as a raw ASGI app on edgedock's uvicorn settings.

The fleet benchmark runs it with the same client as edgedock, in the same run, so that every
figure of edgedock has a floor beside it that shows what this machine and this client can do.
It does, per request, only what no device API can skip: a token lookup in a dict, a version per
device compared with `If-None-Match`, an `asyncio.Event` per waiting poll, and a body
precomputed when the state changed. No FastAPI, no validation, no database.

Device endpoints mirror edgedock's: `GET /device/v1/ping` (204), `GET /device/v1/desired-state`
(`?wait=`, `If-None-Match`/`ETag`, 304), `POST /device/v1/registry-auth` (a precomputed body),
`POST /device/v1/status` (204, the body read and dropped).
Control endpoints stand in for the operator's API: `POST /floor/v1/devices` (`{"count": n}`,
registers n devices and returns their ids and tokens) and `POST /floor/v1/deploy` (bumps every
device's version, wakes its waiting polls, and returns one deployment id per device).

    .venv/bin/python -m benchmarks.floor --port 8100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_POLL_WAIT = 60.0  # edgedock's default `max_poll_wait`
CONTAINER_ID = "00000000-0000-4000-8000-00000000c0de"
# What an X-Registry-Auth answer looks like; the floor does not decrypt or encode anything.
_REGISTRY_AUTH = json.dumps({"x_registry_auth": "eyJ1c2VybmFtZSI6ICJyb2JvdCJ9"}).encode()


@dataclass
class _Device:
    id: str
    version: int = 0
    etag: str = '"0"'
    body: bytes = b""
    waiters: set[asyncio.Event] = field(default_factory=set)

    def render(self, deployment_id: str | None) -> None:
        deployments = []
        if deployment_id is not None:
            deployments.append({"id": deployment_id, "containers": [{"id": CONTAINER_ID}]})
        state = {"device_id": self.id, "version": self.version, "deployments": deployments}
        self.body = json.dumps(state).encode()
        self.etag = f'"{self.version}"'


class FloorApp:
    """The ASGI callable. All state lives in dicts of this one process."""

    def __init__(self) -> None:
        self.by_token: dict[bytes, _Device] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        path, method = scope["path"], scope["method"]
        if path == "/healthz":
            await _plain(send, 200)
            return
        if path.startswith("/floor/v1/"):
            body = await _read_body(receive)
            if path == "/floor/v1/devices" and method == "POST":
                await _json(send, 201, self.register(json.loads(body)["count"]))
            elif path == "/floor/v1/deploy" and method == "POST":
                await _json(send, 201, self.deploy())
            else:
                await _plain(send, 404)
            return
        device = self.by_token.get(_bearer(scope))
        if device is None:
            await _plain(send, 401)
        elif path == "/device/v1/desired-state" and method == "GET":
            await self.desired_state(scope, send, device)
        elif path == "/device/v1/ping" and method == "GET":
            await _plain(send, 204)
        elif path == "/device/v1/status" and method == "POST":
            await _read_body(receive)
            await _plain(send, 204)
        elif path == "/device/v1/registry-auth" and method == "POST":
            await _read_body(receive)
            await _respond(send, 200, _REGISTRY_AUTH, [(b"cache-control", b"no-store")])
        else:
            await _plain(send, 404)

    async def desired_state(self, scope: Scope, send: Send, device: _Device) -> None:
        wait = min(_wait(scope), MAX_POLL_WAIT)
        if_none_match = _header(scope, b"if-none-match")
        if if_none_match == device.etag and wait > 0:
            changed = asyncio.Event()
            device.waiters.add(changed)
            try:
                await asyncio.wait_for(changed.wait(), timeout=wait)
            except TimeoutError:
                pass
            finally:
                device.waiters.discard(changed)
        etag = device.etag.encode()
        if if_none_match == device.etag:
            await _respond(send, 304, b"", [(b"etag", etag)])
        else:
            headers = [(b"etag", etag), (b"content-type", b"application/json")]
            await _respond(send, 200, device.body, headers)

    def register(self, count: int) -> list[dict[str, str]]:
        created = []
        for _ in range(count):
            device, token = _Device(id=str(uuid.uuid4())), "edd_" + secrets.token_urlsafe(24)
            device.render(None)
            self.by_token[token.encode()] = device
            created.append({"id": device.id, "token": token})
        return created

    def deploy(self) -> dict[str, Any]:
        """Every device gets a new version; its waiting polls are woken after the bump."""
        items = []
        for device in self.by_token.values():
            deployment_id = str(uuid.uuid4())
            device.version += 1
            device.render(deployment_id)
            for event in device.waiters:
                event.set()
            items.append({"id": deployment_id, "device_id": device.id})
        return {"items": items, "container_id": CONTAINER_ID}


def _bearer(scope: Scope) -> bytes:
    value = _header(scope, b"authorization") or ""
    return value[7:].encode() if value.startswith("Bearer ") else b""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _wait(scope: Scope) -> float:
    for key, value in parse_qsl(scope["query_string"].decode("latin-1")):
        if key == "wait":
            try:
                return max(0.0, float(value))
            except ValueError:
                return 0.0
    return 0.0


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _plain(send: Send, status: int) -> None:
    await _respond(send, status, b"", [])


async def _json(send: Send, status: int, value: Any) -> None:
    await _respond(
        send, status, json.dumps(value).encode(), [(b"content-type", b"application/json")]
    )


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="the fleet benchmark's floor app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    # The same uvicorn call as `edgedock serve` (src/edgedock/cli/serve.py): default loop and
    # HTTP implementation (auto), no access log, proxy headers on.
    uvicorn.run(
        FloorApp(),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        proxy_headers=True,
        access_log=False,
    )


if __name__ == "__main__":
    main()
