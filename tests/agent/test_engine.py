"""The engine boundary against the real Podman service and the real registry.

Fakes (a Docker-API server on a unix socket, `_fake_engine` in the name) stand in only for what
Podman cannot be made to do: drop a pull halfway, stall, echo a secret, show what bytes it got.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import secrets
import socket
import socketserver
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from edgedock import registry_auth, wire
from edgedock.agent.engine import Engine, ManagedContainer, container_config, spec_hash
from edgedock.agent.errors import (
    EngineError,
    EngineOperationFailed,
    EnginePullFailed,
    EngineUnavailable,
)
from tests.support.engine import EngineInfo, run_podman
from tests.support.fixtures import PrivateImage
from tests.support.registry import free_port

UNAUTHORIZED = "unauthorized: authentication required"


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def agent_engine(engine: EngineInfo) -> Iterator[Engine]:
    with Engine(engine.url) as agent_engine:
        yield agent_engine
    run_podman(engine.env, "rm", "--all", "--force", "--time", "0")


@pytest.fixture
def absent_image(private_image: PrivateImage, engine: EngineInfo) -> PrivateImage:
    """The private image, not in the engine's store: a pull has to reach the registry."""
    run_podman(engine.env, "rmi", "--ignore", "--force", private_image.image)
    return private_image


@pytest.fixture
def pulled_image(private_image: PrivateImage, agent_engine: Engine) -> str:
    if not agent_engine.image_present(private_image.image):
        agent_engine.pull(private_image.image, x_registry_auth=_auth(private_image))
    return private_image.image


@pytest.fixture
def inspect(engine: EngineInfo) -> Iterator[Callable[[str], dict[str, Any]]]:
    """The engine's own view of a container, read past the code under test."""
    api = docker.APIClient(base_url=engine.url, version="1.41")
    yield api.inspect_container
    api.close()


def _auth(image: PrivateImage, *, password: str | None = None) -> str:
    return registry_auth.encode(
        username=image.username,
        password=image.password if password is None else password,
        serveraddress=image.registry,
    )


def _name() -> str:
    return f"edgedock-test-{secrets.token_hex(4)}"


def _assert_leaks_nothing(exc: BaseException, *secret_values: str) -> None:
    """Neither messages, reprs, a formatted traceback nor kept requests may hold a secret."""
    texts = ["".join(traceback.format_exception(exc))]
    link: BaseException | None = exc
    while link is not None:
        texts += [str(link), repr(link), repr(link.args)]
        for holder in (link, getattr(link, "response", None)):
            request = getattr(holder, "request", None)
            if request is not None:
                texts.append(repr(dict(request.headers)))
        link = link.__cause__ or link.__context__
    for value in secret_values:
        for text in texts:
            assert value not in text


# --- pull against the real registry -----------------------------------------------------------


@pytest.mark.real_engine
def test_pull_succeeds_with_right_credentials(
    agent_engine: Engine, absent_image: PrivateImage
) -> None:
    assert not agent_engine.image_present(absent_image.image)

    agent_engine.pull(absent_image.image, x_registry_auth=_auth(absent_image))

    assert agent_engine.image_present(absent_image.image)


@pytest.mark.real_engine
def test_pull_fails_with_wrong_password(agent_engine: Engine, absent_image: PrivateImage) -> None:
    wrong = absent_image.password + "-wrong"
    header = _auth(absent_image, password=wrong)

    with pytest.raises(EnginePullFailed) as caught:
        agent_engine.pull(absent_image.image, x_registry_auth=header)

    # Podman's words, verbatim, ending in the registry's own text.
    assert str(caught.value) == (
        f"initializing source docker://{absent_image.image}: reading manifest 1.0 in "
        f"{absent_image.registry}/team/app: {UNAUTHORIZED}"
    )
    assert caught.value.image == absent_image.image
    _assert_leaks_nothing(caught.value, header, wrong, absent_image.password)
    assert not agent_engine.image_present(absent_image.image)


@pytest.mark.real_engine
def test_pull_fails_with_unknown_user(agent_engine: Engine, absent_image: PrivateImage) -> None:
    header = registry_auth.encode(
        username="intruder", password=absent_image.password, serveraddress=absent_image.registry
    )

    with pytest.raises(EnginePullFailed, match=f"{UNAUTHORIZED}$") as caught:
        agent_engine.pull(absent_image.image, x_registry_auth=header)

    _assert_leaks_nothing(caught.value, header, absent_image.password)


@pytest.mark.real_engine
def test_pull_fails_without_credentials(agent_engine: Engine, absent_image: PrivateImage) -> None:
    with pytest.raises(EnginePullFailed, match=f"{UNAUTHORIZED}$") as caught:
        agent_engine.pull(absent_image.image, x_registry_auth=None)

    _assert_leaks_nothing(caught.value, absent_image.password)


@pytest.mark.real_engine
def test_pull_fails_for_unknown_tag(agent_engine: Engine, private_image: PrivateImage) -> None:
    image = private_image.image.replace(":1.0", ":9.9")

    with pytest.raises(EnginePullFailed, match=r"manifest unknown$"):
        agent_engine.pull(image, x_registry_auth=_auth(private_image))


@pytest.mark.real_engine
def test_pull_fails_when_engine_cannot_parse_the_header(
    agent_engine: Engine, private_image: PrivateImage
) -> None:
    header = "bm90LWpzb24tYXQtYWxs" + secrets.token_hex(4)  # base64 of no JSON object

    with pytest.raises(
        EnginePullFailed, match='failed to parse "X-Registry-Auth" header'
    ) as caught:
        agent_engine.pull(private_image.image, x_registry_auth=header)

    _assert_leaks_nothing(caught.value, header)


# --- containers -------------------------------------------------------------------------------


@pytest.mark.real_engine
def test_create_and_start_run_container_with_spec_settings(
    agent_engine: Engine,
    pulled_image: str,
    tmp_path: Path,
    inspect: Callable[[str], dict[str, Any]],
) -> None:
    host_port, udp_port = free_port(), free_port()
    spec = wire.ContainerSpec(
        id="web",
        name="web",
        image=pulled_image,
        env={"GREETING": "hello from edgedock"},
        # Writes through the bind mount, then serves the same folder on the published port.
        command=["/bin/sh", "-c", 'echo "$GREETING" > /data/out; exec httpd -f -p 80 -h /data'],
        port_bindings=[f"127.0.0.1:{host_port}:80/tcp", "8081", f"{udp_port}:53/udp"],
        restart_policy="on-failure",
        binds=[f"{tmp_path}:/data"],
    )
    name = _name()

    engine_id = agent_engine.create(
        spec, device_id="dev-1", deployment_id="dep-1", name=name, spec_hash="abc123"
    )
    assert agent_engine.state(engine_id) == "created"
    agent_engine.start(engine_id)

    assert agent_engine.state(engine_id) == "running"
    assert _http_get(f"http://127.0.0.1:{host_port}/out") == "hello from edgedock\n"
    assert (tmp_path / "out").read_text() == "hello from edgedock\n"
    details = inspect(engine_id)
    assert details["Config"]["Labels"] == {
        wire.LABEL_MANAGED: "true",
        wire.LABEL_DEVICE: "dev-1",
        wire.LABEL_DEPLOYMENT: "dep-1",
        wire.LABEL_CONTAINER: "web",
        wire.LABEL_SPEC_HASH: "abc123",
    }
    assert "GREETING=hello from edgedock" in details["Config"]["Env"]
    assert details["Config"]["Cmd"] == spec.command
    assert details["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 0}
    assert details["HostConfig"]["Privileged"] is False
    bindings = details["HostConfig"]["PortBindings"]
    assert bindings["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(host_port)}]
    assert bindings["53/udp"] == [{"HostIp": "", "HostPort": str(udp_port)}]
    assert bindings["8081/tcp"][0]["HostPort"].isdigit()  # engine's pick
    assert details["HostConfig"]["Binds"][0].startswith(f"{tmp_path}:/data")


@pytest.mark.real_engine
def test_create_applies_host_network_and_privileged(
    agent_engine: Engine, pulled_image: str, inspect: Callable[[str], dict[str, Any]]
) -> None:
    spec = wire.ContainerSpec(
        id="probe", name="probe", image=pulled_image, network_mode="host", privileged=True
    )

    engine_id = agent_engine.create(
        spec, device_id="dev-1", deployment_id="dep-2", name=_name(), spec_hash="h"
    )
    agent_engine.start(engine_id)

    details = inspect(engine_id)
    assert details["HostConfig"]["NetworkMode"] == "host"
    assert details["HostConfig"]["Privileged"] is True
    assert agent_engine.state(engine_id) == "running"


@pytest.mark.real_engine
def test_managed_containers_rebuilds_view_from_labels(
    agent_engine: Engine, pulled_image: str, engine: EngineInfo
) -> None:
    spec = wire.ContainerSpec(id="api", name="api", image=pulled_image)
    name = _name()
    engine_id = agent_engine.create(
        spec,
        device_id="dev-1",
        deployment_id="dep-3",
        name=name,
        spec_hash=spec_hash(spec),
        release_id="rel-3",
        version="1.2.0",
    )
    agent_engine.start(engine_id)
    run_podman(engine.env, "create", "--name", _name(), pulled_image)  # not ours: not listed
    # made by an agent from before the device label: listed, with no device
    legacy_name = _name()
    labels = {
        wire.LABEL_MANAGED: "true",
        wire.LABEL_DEPLOYMENT: "dep-0",
        wire.LABEL_CONTAINER: "api",
        wire.LABEL_SPEC_HASH: "h0",
    }
    label_args = [arg for item in labels.items() for arg in ("--label", "=".join(item))]
    legacy_id = run_podman(
        engine.env, "create", "--name", legacy_name, *label_args, pulled_image
    ).strip()

    assert sorted(agent_engine.managed_containers(), key=lambda m: m.deployment_id) == [
        ManagedContainer(
            device_id=None,
            deployment_id="dep-0",
            container_id="api",
            spec_hash="h0",
            engine_id=legacy_id,
            name=legacy_name,
            state="created",
            image=pulled_image,
        ),
        ManagedContainer(
            device_id="dev-1",
            deployment_id="dep-3",
            container_id="api",
            spec_hash=spec_hash(spec),
            engine_id=engine_id,
            name=name,
            state="running",
            image=pulled_image,
            release_id="rel-3",
            version="1.2.0",
        ),
    ]


@pytest.mark.real_engine
def test_stop_then_remove_container(agent_engine: Engine, pulled_image: str) -> None:
    spec = wire.ContainerSpec(id="job", name="job", image=pulled_image)
    engine_id = agent_engine.create(
        spec, device_id="dev-1", deployment_id="dep-4", name=_name(), spec_hash="h"
    )
    agent_engine.start(engine_id)

    agent_engine.stop(engine_id, timeout=1)
    assert agent_engine.state(engine_id) == "exited"
    assert [c.state for c in agent_engine.managed_containers()] == ["exited"]
    agent_engine.stop(engine_id, timeout=1)  # stopping twice is no error

    agent_engine.remove(engine_id)
    assert agent_engine.state(engine_id) is None
    assert agent_engine.managed_containers() == []
    agent_engine.remove(engine_id)  # already gone counts as removed


@pytest.mark.real_engine
def test_remove_forces_running_container(agent_engine: Engine, pulled_image: str) -> None:
    spec = wire.ContainerSpec(id="job", name="job", image=pulled_image)
    engine_id = agent_engine.create(
        spec, device_id="dev-1", deployment_id="dep-5", name=_name(), spec_hash="h"
    )
    agent_engine.start(engine_id)

    agent_engine.remove(engine_id)

    assert agent_engine.state(engine_id) is None


@pytest.mark.real_engine
def test_create_fails_for_image_not_present(agent_engine: Engine, engine: EngineInfo) -> None:
    spec = wire.ContainerSpec(id="x", name="x", image="localhost:1/nowhere/none:1.0")

    with pytest.raises(EngineOperationFailed, match=r"^creating container edgedock-test-"):
        agent_engine.create(
            spec, device_id="dev-1", deployment_id="dep", name=_name(), spec_hash="h"
        )


@pytest.mark.real_engine
def test_create_fails_for_duplicate_name(agent_engine: Engine, pulled_image: str) -> None:
    spec = wire.ContainerSpec(id="x", name="x", image=pulled_image)
    name = _name()
    agent_engine.create(spec, device_id="dev-1", deployment_id="dep", name=name, spec_hash="h")

    with pytest.raises(EngineOperationFailed, match="already in use"):
        agent_engine.create(spec, device_id="dev-1", deployment_id="dep", name=name, spec_hash="h")


@pytest.mark.real_engine
def test_start_and_stop_fail_for_unknown_container(agent_engine: Engine) -> None:
    with pytest.raises(EngineOperationFailed, match=r"^starting container nope"):
        agent_engine.start("nope")
    with pytest.raises(EngineOperationFailed, match=r"^stopping container nope"):
        agent_engine.stop("nope")


@pytest.mark.real_engine
def test_info_names_podman(agent_engine: Engine) -> None:
    info = agent_engine.info()

    assert info.name == "Podman Engine"
    assert info.version.split(".")[0].isdigit()
    assert info.os == "linux"


# --- engine not there -------------------------------------------------------------------------


def test_every_call_raises_engine_unavailable_when_socket_missing(tmp_path: Path) -> None:
    spec = wire.ContainerSpec(id="x", name="x", image="localhost:5000/a/b:1")
    header = registry_auth.encode(username="u", password="s3cret-pw", serveraddress="localhost")

    with Engine(f"unix://{tmp_path}/missing.sock", timeout=2) as absent:
        calls: list[Callable[[], object]] = [
            absent.info,
            absent.managed_containers,
            lambda: absent.image_present("localhost:5000/a/b:1"),
            lambda: absent.pull("localhost:5000/a/b:1", x_registry_auth=header),
            lambda: absent.create(
                spec, device_id="dev-1", deployment_id="d", name="n", spec_hash="h"
            ),
            lambda: absent.start("id"),
            lambda: absent.stop("id"),
            lambda: absent.remove("id"),
            lambda: absent.state("id"),
        ]
        for call in calls:
            with pytest.raises(EngineUnavailable) as caught:
                call()
            _assert_leaks_nothing(caught.value, header, "s3cret-pw")


def test_pull_refuses_header_value_that_is_no_http_header(tmp_path: Path) -> None:
    password = secrets.token_hex(8)
    header = f"pass\nword {password}"  # requests would quote it in its own error

    with (
        Engine(f"unix://{tmp_path}/missing.sock") as absent,
        pytest.raises(EnginePullFailed, match="not a valid header value") as caught,
    ):
        absent.pull("localhost:5000/a/b:1", x_registry_auth=header)

    _assert_leaks_nothing(caught.value, header, password)


# --- failures only a fake engine can produce ---------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _FakeEngineServer

    def do_POST(self) -> None:
        self.server.requests.append((self.path, dict(self.headers)))
        self.close_connection = True
        # OSError: the client went away, which is what some of these tests are about.
        with contextlib.suppress(OSError):
            self.server.respond(self)

    def address_string(self) -> str:
        return "fake-engine"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send_chunks(self, *lines: Mapping[str, object], end: bool = True) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for line in lines:
            data = json.dumps(line).encode() + b"\n"
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        if end:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _FakeEngineServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, path: str, respond: Callable[[_Handler], None]) -> None:
        super().__init__(path, _Handler)
        self.respond = respond
        self.requests: list[tuple[str, dict[str, str]]] = []


@contextmanager
def _fake_engine(
    tmp_path: Path, respond: Callable[[_Handler], None]
) -> Iterator[tuple[str, _FakeEngineServer]]:
    path = tmp_path / "fake.sock"
    server = _FakeEngineServer(str(path), respond)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"unix://{path}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


_DONE = ({"status": "Pulling fs layer", "id": "1"}, {"status": "Download complete", "id": "1"})


def test_pull_sends_x_registry_auth_byte_for_byte_fake_engine(tmp_path: Path) -> None:
    # The standard alphabet with padding: the SDK's own encoder would have produced another value.
    header = "eyJ1c2VybmFtZSI6ImEiLCJwYXNzd29yZCI6Ij8+fiIsInNlcnZlcmFkZHJlc3MiOiJ4In0="
    with (
        _fake_engine(tmp_path, lambda handler: handler.send_chunks(*_DONE)) as (url, server),
        Engine(url) as fake,
    ):
        fake.pull("localhost:5000/team/app:1.0", x_registry_auth=header)
        fake.pull("localhost:5000/team/app", x_registry_auth=None)

    (path, headers), (untagged_path, no_auth_headers) = server.requests
    assert headers["X-Registry-Auth"] == header
    assert path == "/v1.41/images/create?fromImage=localhost%3A5000%2Fteam%2Fapp%3A1.0"
    assert "x-registry-auth" not in {key.lower() for key in no_auth_headers}
    assert untagged_path.endswith("&tag=latest")  # never "every tag"


def test_pull_raises_unavailable_when_connection_drops_midway_fake_engine(tmp_path: Path) -> None:
    header = registry_auth.encode(username="u", password="dropped-pw", serveraddress="x")

    def drop(handler: _Handler) -> None:
        handler.send_chunks(_DONE[0], end=False)
        handler.connection.shutdown(socket.SHUT_RDWR)

    with (
        _fake_engine(tmp_path, drop) as (url, _server),
        Engine(url) as fake,
        pytest.raises(EngineUnavailable, match="the engine connection failed") as caught,
    ):
        fake.pull("localhost:5000/team/app:1.0", x_registry_auth=header)

    _assert_leaks_nothing(caught.value, header, "dropped-pw")


def test_pull_raises_unavailable_when_engine_stalls_fake_engine(tmp_path: Path) -> None:
    release = threading.Event()
    header = registry_auth.encode(username="u", password="stalled-pw", serveraddress="x")

    def stall(handler: _Handler) -> None:
        handler.send_chunks(_DONE[0], end=False)
        release.wait(10)

    try:
        with _fake_engine(tmp_path, stall) as (url, _server), Engine(url, pull_timeout=0.3) as fake:
            with pytest.raises(EngineUnavailable) as caught:
                fake.pull("localhost:5000/team/app:1.0", x_registry_auth=header)
            # The pull gave up while the engine was still stalling, not when it let go.
            assert not release.is_set()
    finally:
        release.set()

    _assert_leaks_nothing(caught.value, header, "stalled-pw")


def test_pull_redacts_credentials_an_engine_echoes_fake_engine(tmp_path: Path) -> None:
    header = registry_auth.encode(username="u", password="echoed-pw", serveraddress="x")

    def echo(handler: _Handler) -> None:
        message = f"denied for {header} (password echoed-pw)"
        handler.send_chunks({"error": message, "errorDetail": {"message": message}})

    with (
        _fake_engine(tmp_path, echo) as (url, _server),
        Engine(url) as fake,
        pytest.raises(EnginePullFailed) as caught,
    ):
        fake.pull("localhost:5000/team/app:1.0", x_registry_auth=header)

    assert str(caught.value) == "denied for [redacted] (password [redacted])"
    _assert_leaks_nothing(caught.value, header, "echoed-pw")


def test_pull_redacts_escaped_and_encoded_echoes_fake_engine(tmp_path: Path) -> None:
    password = 'q"\\<&>é-pw'
    header = registry_auth.encode(username="u", password=password, serveraddress="x")
    go_escaped = 'q\\"\\\\\\u003c\\u0026\\u003eé-pw'  # as Docker's Go JSON writes it
    basic = base64.b64encode(f"u:{password}".encode()).decode()
    echoed = [go_escaped, header.rstrip("="), basic]

    def echo(handler: _Handler) -> None:
        message = f'denied: {{"password":"{go_escaped}"}} auth {echoed[1]} basic {basic}'
        handler.send_chunks({"error": message, "errorDetail": {"message": message}})

    with (
        _fake_engine(tmp_path, echo) as (url, _server),
        Engine(url) as fake,
        pytest.raises(EnginePullFailed) as caught,
    ):
        fake.pull("localhost:5000/team/app:1.0", x_registry_auth=header)

    assert str(caught.value) == (
        'denied: {"password":"[redacted]"} auth [redacted] basic [redacted]'
    )
    for form in echoed:
        assert form not in str(caught.value)
    _assert_leaks_nothing(caught.value, header, password)


def test_pull_reports_error_status_message_fake_engine(tmp_path: Path) -> None:
    def refuse(handler: _Handler) -> None:
        body = json.dumps({"message": "pull access denied", "response": 500}).encode()
        handler.send_response(500)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    with (
        _fake_engine(tmp_path, refuse) as (url, _server),
        Engine(url) as fake,
        pytest.raises(EnginePullFailed, match=r"^pull access denied$"),
    ):
        fake.pull("localhost:5000/team/app:1.0", x_registry_auth=None)


# --- the create body and the spec hash (pure) --------------------------------------------------


@pytest.mark.parametrize(
    ("binding", "port", "host"),
    [
        ("8080:80/tcp", "80/tcp", {"HostIp": "", "HostPort": "8080"}),
        ("127.0.0.1:8080:80", "80/tcp", {"HostIp": "127.0.0.1", "HostPort": "8080"}),
        ("80", "80/tcp", {"HostIp": "", "HostPort": ""}),
        ("53/udp", "53/udp", {"HostIp": "", "HostPort": ""}),
        ("[::1]:8443:443", "443/tcp", {"HostIp": "::1", "HostPort": "8443"}),
        ("127.0.0.1::80", "80/tcp", {"HostIp": "127.0.0.1", "HostPort": ""}),
    ],
)
def test_container_config_translates_port_binding(
    binding: str, port: str, host: dict[str, str]
) -> None:
    spec = wire.ContainerSpec(id="c", name="c", image="i:1", port_bindings=[binding])

    config = container_config(spec, device_id="dev", deployment_id="d", spec_hash="h")

    assert config["ExposedPorts"] == {port: {}}
    assert config["HostConfig"]["PortBindings"] == {port: [host]}


@pytest.mark.parametrize("binding", ["http", "80/tcpx", "0:80", "8080:70000", "a:b:c:80", ""])
def test_container_config_rejects_invalid_port_binding(binding: str) -> None:
    spec = wire.ContainerSpec(id="c", name="web", image="i:1", port_bindings=[binding])

    with pytest.raises(EngineOperationFailed, match=r"^container web: invalid port binding"):
        container_config(spec, device_id="dev", deployment_id="d", spec_hash="h")


def test_container_config_passes_binds_in_normal_form() -> None:
    spec = wire.ContainerSpec(
        id="c", name="web", image="i:1", binds=["/srv/a/../data/:/data:rw", "cache:/c:ro"]
    )

    config = container_config(spec, device_id="dev", deployment_id="d", spec_hash="h")

    assert config["HostConfig"]["Binds"] == ["/srv/data:/data", "cache:/c:ro"]


@pytest.mark.parametrize("bind", ["/a:/b/../../", "/a:/b\n", "/a:b", "/a:/b:exec"])
def test_container_config_rejects_bind_the_server_refuses(bind: str) -> None:
    """A release stored before binds were checked: the engine never receives the bind."""
    spec = wire.ContainerSpec(id="c", name="web", image="i:1", binds=["/ok:/ok", bind])

    with pytest.raises(EngineOperationFailed, match=r"^container web: invalid bind "):
        container_config(spec, device_id="dev", deployment_id="d", spec_hash="h")


def test_container_config_leaves_image_defaults_alone() -> None:
    spec = wire.ContainerSpec(id="c", name="c", image="i:1")

    config = container_config(spec, device_id="dev", deployment_id="d", spec_hash="h")

    assert "Cmd" not in config
    assert "NetworkMode" not in config["HostConfig"]
    assert config["HostConfig"]["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}


def test_spec_hash_is_stable_and_sensitive() -> None:
    spec = wire.ContainerSpec(id="c", name="c", image="i:1", env={"A": "1", "B": "2"})
    same = wire.ContainerSpec(id="c", name="c", image="i:1", env={"B": "2", "A": "1"})
    other = wire.ContainerSpec(id="c", name="c", image="i:2", env={"A": "1", "B": "2"})

    assert spec_hash(spec) == spec_hash(same)
    assert spec_hash(spec) != spec_hash(other)
    assert spec_hash(spec) != spec_hash(spec.model_copy(update={"privileged": True}))
    # Pinned: a hash that changed between agent versions would recreate every container.
    assert spec_hash(spec) == "0a58e066aa0de4e2"


def test_engine_errors_share_one_base() -> None:
    assert issubclass(EngineUnavailable, EngineError)
    assert issubclass(EnginePullFailed, EngineError)
    assert issubclass(EngineOperationFailed, EngineError)


def _http_get(url: str, timeout: float = 10) -> str:
    """The body at ``url`` once the server in the container answers 200."""
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=1) as client:
        while True:
            try:
                response = client.get(url)
                if response.status_code == 200:
                    return response.text
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"no 200 from {url} in {timeout} s"
            time.sleep(0.05)
