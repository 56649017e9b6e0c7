"""Slow clients on a real server: a body that trickles in holds no database session."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

# More than the 15 database slots a server holds at once (db.Database.max_concurrent).
TRICKLERS = 16
BODY = b"csrf_token=nope&token=edk_nothing&next=%2F"


def _start_trickling_sign_in(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    head = (
        "POST /sign-in HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        "Accept: text/html\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    )
    sock.sendall(head.encode() + BODY[:5])
    return sock


def _finish(sock: socket.socket) -> bytes:
    sock.sendall(BODY[5:])
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    sock.close()
    return answer


def test_trickling_sign_in_bodies_do_not_delay_a_device_poll(live_server):
    with live_server.api() as api:
        device = api.post("/api/v1/devices", json={"name": f"slow-{time.monotonic_ns()}"}).json()
    tricklers = [_start_trickling_sign_in(live_server.url) for _ in range(TRICKLERS)]
    try:
        time.sleep(0.5)  # let the server take the requests in; their bodies stay incomplete
        with live_server.api(device["token"]) as agent:
            assert agent.get("/device/v1/ping").status_code == 204
            assert agent.get("/device/v1/desired-state").status_code == 200
    finally:
        # Every sign-in was still open while the device was served; each now gets its answer
        # (refused: it came without the sign-in cookie).
        answers = [_finish(sock) for sock in tricklers]
    assert all(a.startswith(b"HTTP/1.1 403") for a in answers), answers[:1]
