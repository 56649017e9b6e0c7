"""A stand-in for a careless registry that echoes what it was sent back in its error bodies.

No real registry does this on purpose, but proxies and home-grown registries do, and the
credentials check must surface their words without the password. `/v2/` challenges with
Basic or Bearer (`mode`); a login is then answered 401 with a body quoting the Authorization
header, what it decodes to, and the request line, in JSON (`errors[].message`); with
`token_ok`, the realm hands out a token and the manifest answers 404 quoting it.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class EchoRegistry:
    host: str  # 127.0.0.1:PORT
    mode: str  # "basic" or "bearer"
    token: str  # the token the realm hands out when token_ok


def _decoded(header: str) -> str:
    _, _, value = header.partition(" ")
    try:
        return base64.b64decode(value).decode()
    except ValueError:
        return ""


def _handler(registry: EchoRegistry, token_ok: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self._route(head=True)

        def do_GET(self) -> None:
            self._route(head=False)

        def _route(self, *, head: bool) -> None:
            auth = self.headers.get("Authorization", "")
            echo = f"you sent {self.requestline!r} with {auth!r}, that is {_decoded(auth)!r}"
            if self.path == "/v2/" and not auth:
                challenge = (
                    'Basic realm="echo"'
                    if registry.mode == "basic"
                    else f'Bearer realm="http://{registry.host}/token",service="echo"'
                )
                self._answer(
                    401, {"errors": [{"code": "UNAUTHORIZED", "message": "login"}]}, challenge, head
                )
            elif self.path.startswith("/token") and token_ok:
                self._answer(200, {"token": registry.token}, None, head)
            elif "/manifests/" in self.path and token_ok:
                self._answer(
                    404, {"errors": [{"code": "MANIFEST_UNKNOWN", "message": echo}]}, None, head
                )
            else:
                self._answer(
                    401,
                    {
                        "errors": [{"code": "UNAUTHORIZED", "message": echo, "detail": echo}],
                        "details": echo,
                    },
                    None,
                    head,
                )

        def _answer(
            self, status: int, body: dict[str, object], challenge: str | None, head: bool
        ) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if challenge:
                self.send_header("WWW-Authenticate", challenge)
            self.end_headers()
            if not head:
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@contextmanager
def running_echo_registry(mode: str, *, token_ok: bool = False) -> Iterator[EchoRegistry]:
    registry = EchoRegistry(host="", mode=mode, token=f"tok-{secrets.token_hex(16)}")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry, token_ok))
    registry.host = f"127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
