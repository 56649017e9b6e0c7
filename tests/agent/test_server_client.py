"""The device API client: requests as the protocol says, every failure translated once.

These are the failures a real server cannot be made to produce on demand (a dropped
connection, a 502, a body that is not the protocol), so they use `httpx.MockTransport`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from edgedock import wire
from edgedock.agent.errors import AgentError
from edgedock.agent.server_client import (
    CredentialsDeleted,
    CredentialsExpired,
    RegistryAuthRefused,
    ServerClient,
    ServerProtocolError,
    ServerRejected,
    ServerUnavailable,
    read_token,
)

STATE = wire.DesiredState(device_id="dev-1", deployments=[])
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, token: str = "tok") -> ServerClient:
    return ServerClient("http://srv.test/", token=token, transport=httpx.MockTransport(handler))


def error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": "x", "message": message}})


def test_desired_state_sends_token_wait_and_etag() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=STATE.model_dump_json(), headers={"ETag": '"v2"'})

    update = client(handler).desired_state(etag='"v1"', wait=29.2)

    assert update is not None and update.state == STATE and update.etag == '"v2"'
    (request,) = seen
    assert request.url.path == "/device/v1/desired-state"
    assert request.url.params["wait"] == "30"
    assert request.headers["If-None-Match"] == '"v1"'
    assert request.headers["Authorization"] == "Bearer tok"


def test_desired_state_without_etag_sends_no_if_none_match() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=STATE.model_dump_json())

    update = client(handler).desired_state(etag=None, wait=0)
    assert update is not None and update.etag is None
    assert "If-None-Match" not in seen[0].headers


def test_desired_state_not_modified_returns_none() -> None:
    assert client(lambda r: httpx.Response(304)).desired_state(etag='"v1"', wait=5) is None


def test_desired_state_long_poll_read_timeout_exceeds_wait() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(304)

    client(handler).desired_state(etag='"v1"', wait=60)
    assert seen[0].extensions["timeout"]["read"] > 60


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("cut")],
)
def test_transport_failure_raises_server_unavailable(failure: httpx.TransportError) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(ServerUnavailable) as caught:
        client(handler).desired_state(etag=None, wait=1)
    assert isinstance(caught.value.__cause__, httpx.TransportError)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_status_raises_server_unavailable(status: int) -> None:
    with pytest.raises(ServerUnavailable, match=str(status)):
        client(lambda r: httpx.Response(status)).report_status(wire.StatusReport())


@pytest.mark.parametrize("status", [401, 403])
def test_refused_token_raises_server_rejected(status: int) -> None:
    with pytest.raises(ServerRejected, match="invalid device token"):
        client(lambda r: error(status, "invalid device token")).desired_state(etag=None, wait=1)


def test_invalid_desired_state_body_raises_protocol_error() -> None:
    handler: Handler = lambda r: httpx.Response(200, json={"device_id": 3})  # noqa: E731
    with pytest.raises(ServerProtocolError, match="not a valid DesiredState"):
        client(handler).desired_state(etag=None, wait=1)


def test_registry_auth_posts_ids_and_returns_value() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"x_registry_auth": "eyJ9", "serveraddress": "r.test", "expires_at": None}
        )

    granted = client(handler).registry_auth(deployment_id="d1", container_id="c1")

    assert (granted.x_registry_auth, granted.serveraddress) == ("eyJ9", "r.test")
    assert seen[0].method == "POST" and seen[0].url.path == "/device/v1/registry-auth"
    assert json.loads(seen[0].content) == {"deployment_id": "d1", "container_id": "c1"}


def test_registry_auth_404_raises_refused_with_server_message() -> None:
    with pytest.raises(RegistryAuthRefused) as caught:
        client(lambda r: error(404, "container not found")).registry_auth(
            deployment_id="d1", container_id="c1"
        )
    assert str(caught.value) == "container not found"
    assert not isinstance(caught.value, CredentialsDeleted)


def test_registry_auth_410_raises_credentials_deleted_naming_them() -> None:
    message = "the image credentials 'team-registry' were deleted; make a new release"
    with pytest.raises(CredentialsDeleted) as caught:
        client(lambda r: error(410, message)).registry_auth(deployment_id="d1", container_id="c1")
    assert str(caught.value) == message


def test_registry_auth_410_credentials_expired_raises_credentials_expired_fake_server() -> None:
    message = "the image credentials c-1 that container 'app' (r.test/a:1) needs expired on …"

    def handler(request: httpx.Request) -> httpx.Response:
        body = {"error": {"code": "credentials_expired", "message": message}}
        return httpx.Response(410, json=body)

    with pytest.raises(CredentialsExpired) as caught:
        client(handler).registry_auth(deployment_id="d1", container_id="c1")
    assert str(caught.value) == message
    assert isinstance(caught.value, CredentialsDeleted), "handled as a 410 wherever that is"
    with pytest.raises(CredentialsDeleted) as deleted:
        client(lambda r: error(410, "deleted")).registry_auth(deployment_id="d", container_id="c")
    assert not isinstance(deleted.value, CredentialsExpired)


def test_registry_auth_invalid_body_error_does_not_quote_it() -> None:
    secret = "c2VjcmV0LXZhbHVl"
    handler: Handler = lambda r: httpx.Response(200, json={"x_registry_auth": secret})  # noqa: E731
    with pytest.raises(ServerProtocolError) as caught:
        client(handler).registry_auth(deployment_id="d1", container_id="c1")
    assert secret not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_report_status_posts_report_and_accepts_204() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    report = wire.StatusReport(
        containers=[wire.ContainerReport(deployment_id="d1", container_id="c1", status="running")]
    )
    client(handler).report_status(report)
    assert seen[0].url.path == "/device/v1/status"
    assert wire.StatusReport.model_validate_json(seen[0].content) == report


def test_report_status_refused_raises_protocol_error() -> None:
    with pytest.raises(ServerProtocolError, match="bad report"):
        client(lambda r: error(422, "bad report")).report_status(wire.StatusReport())


def test_every_server_error_is_an_agent_error() -> None:
    for error_class in (ServerUnavailable, ServerRejected, ServerProtocolError, CredentialsDeleted):
        assert issubclass(error_class, AgentError)


def test_read_token_strips_white_space(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("  edt_abc\n")
    path.chmod(0o600)
    assert read_token(path) == "edt_abc"


def test_read_token_refuses_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("\n")
    path.chmod(0o600)
    with pytest.raises(ServerRejected, match="empty"):
        read_token(path)
