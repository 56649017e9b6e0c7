"""The device API client's bounds: an overall deadline per call, a size limit on answers, and
what it says and does when the server refuses its token.

The trickle tests use a real misbehaving HTTP server on loopback (a thread with a socket),
since per-read time-outs are exactly what such a server slips under. The size tests need no
misbehaviour a real edgedock server could show, so they use `httpx.MockTransport`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edgedock import wire
from edgedock.agent.server_client import (
    ServerAnswerTooLarge,
    ServerClient,
    ServerRejected,
    ServerUnavailable,
)

STATE = wire.DesiredState(device_id="dev-1", deployments=[])


@contextlib.contextmanager
def trickling_server(*, headers_first: bool) -> Iterator[str]:
    """Answers every request one byte every 0.3 s: the body only, or the status line too."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()
    body = STATE.model_dump_json().encode()
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                if headers_first:
                    conn.sendall(head)
                trickle = body if headers_first else head + body
                for byte in trickle:
                    if stop.is_set():
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break  # the client gave up and closed
                    time.sleep(0.3)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@pytest.mark.parametrize("headers_first", [True, False], ids=["body", "status-line"])
def test_call_gives_up_at_its_deadline_server_trickling(headers_first: bool) -> None:
    # Every byte comes well within the 5 s read time-out; only the whole call's deadline ends it.
    with (
        trickling_server(headers_first=headers_first) as url,
        ServerClient(url, token="tok", timeout=5.0, deadline=1.0) as client,
    ):
        with pytest.raises(ServerUnavailable, match="no complete answer within"):
            client.report_status(wire.StatusReport())
        # The abandoned call keeps nothing: the next one starts on a fresh client.
        with pytest.raises(ServerUnavailable, match="no complete answer within"):
            client.report_status(wire.StatusReport())


def _big_state(containers: int) -> wire.DesiredState:
    spec = wire.DeploymentSpec(
        id="d1",
        release_id="r1",
        application="app",
        version="1",
        desired="started",
        containers=[
            wire.ContainerSpec(id=f"c{i}", name=f"c{i}", image="busybox:1.36")
            for i in range(containers)
        ],
    )
    return wire.DesiredState(device_id="dev-1", deployments=[spec])


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_desired_state_over_the_size_limit_is_refused_fake_server(declared: bool) -> None:
    payload = _big_state(200).model_dump_json().encode()
    assert len(payload) > 4096

    def handler(request: httpx.Request) -> httpx.Response:
        if declared:
            return httpx.Response(200, content=payload)
        chunks = (payload[i : i + 1000] for i in range(0, len(payload), 1000))
        return httpx.Response(200, content=chunks)

    transport = httpx.MockTransport(handler)
    with (
        ServerClient("http://srv.test", token="t", max_answer_bytes=4096, transport=transport) as c,
        pytest.raises(ServerAnswerTooLarge, match="larger than 4096 bytes"),
    ):
        c.desired_state(etag=None, wait=0)


def test_desired_state_under_the_size_limit_is_read_whole_fake_server() -> None:
    state = _big_state(20)
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, content=state.model_dump_json(), headers={"ETag": '"e"'})
    )
    with ServerClient("http://srv.test", token="t", transport=transport) as client:
        update = client.desired_state(etag=None, wait=0)
    assert update is not None and update.state == state and update.etag == '"e"'


def test_gzipped_answer_is_decoded_once_fake_server() -> None:
    import gzip

    body = gzip.compress(STATE.model_dump_json().encode())
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"})
    )
    with ServerClient("http://srv.test", token="t", transport=transport) as client:
        update = client.desired_state(etag=None, wait=0)
    assert update is not None and update.state == STATE


def test_refused_token_names_the_token_file_fake_server(tmp_path: Path) -> None:
    token_file = tmp_path / "device.token"
    body = {"error": {"code": "unauthorized", "message": "the device token is not valid"}}
    transport = httpx.MockTransport(lambda r: httpx.Response(401, json=body))
    with (
        ServerClient(
            "http://srv.test", token="t", token_file=token_file, transport=transport
        ) as client,
        pytest.raises(ServerRejected) as caught,
    ):
        client.desired_state(etag=None, wait=0)
    assert str(token_file) in str(caught.value)
    assert "the device token is not valid" in str(caught.value)


def test_reload_token_uses_a_new_token_from_the_file_fake_server(tmp_path: Path) -> None:
    token_file = tmp_path / "device.token"
    token_file.write_text("edd_old\n")
    token_file.chmod(0o600)  # the agent refuses a token file others can read
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, content=STATE.model_dump_json())

    transport = httpx.MockTransport(handler)
    with ServerClient(
        "http://srv.test", token="edd_old", token_file=token_file, transport=transport
    ) as client:
        assert client.reload_token() is False, "the same token is no change"
        token_file.write_text("edd_new\n")
        assert client.reload_token() is True
        client.desired_state(etag=None, wait=0)
        token_file.unlink()
        assert client.reload_token() is False, "a missing file keeps the token in use"
    assert seen == ["Bearer edd_new"]
