"""Issue 4, for real: a private image pulled by the agent with just-in-time credentials.

A live `edgedock serve` (SQLite), the Debian docker-registry with htpasswd auth, Podman's Docker
API service, and the agent (in-process in a thread, or `edgedock agent` as a subprocess). The
registry password holds characters that break the standard base64 alphabet (`a?b>~…`). After
every test, the planted password and the X-Registry-Auth value built from it must be absent
from every log line captured in this process (agent, httpx, docker SDK, at DEBUG).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgedock import registry_auth
from edgedock.agent.engine import Engine
from edgedock.agent.loop import Agent
from edgedock.agent.server_client import RegistryAuthRefused, ServerClient
from tests.conftest import create_database
from tests.e2e.agent_support import (
    Operator,
    agent_running,
    clear_engine,
    engine_containers,
    files_containing,
    managed,
    wait_for,
)
from tests.support.engine import EngineInfo, running_engine
from tests.support.fixtures import (
    PrivateImage,
    engine,
    private_image,
    registry,
    registry_credentials,
)
from tests.support.live_server import EDGEDOCK, LiveServer, running_server
from tests.support.registry import RegistryInfo

__all__ = ["engine", "private_image", "registry", "registry_credentials"]  # fixtures, for pytest

pytestmark = pytest.mark.real_engine

UNAUTHORIZED = "unauthorized: authentication required"


class Killed(BaseException):
    """The agent dying at a chosen point: nothing in the agent catches it."""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("agent-e2e")
    with running_server(folder / "server", create_database("sqlite", folder)) as server:
        yield server


@pytest.fixture(scope="module")
def second_engine(
    tmp_path_factory: pytest.TempPathFactory, registry: RegistryInfo
) -> Iterator[EngineInfo]:
    """A second device's engine: two agents on one engine would remove each other's containers."""
    with running_engine(tmp_path_factory.mktemp("engine-2"), [registry.host]) as info:
        yield info


@pytest.fixture
def operator(live: LiveServer) -> Operator:
    return Operator(live)


@pytest.fixture(autouse=True)
def nothing_leaks(
    private_image: PrivateImage, engine: EngineInfo, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Each test starts on an empty engine and must log neither the password nor the auth."""
    clear_engine(engine)
    caplog.set_level(logging.DEBUG)
    yield
    secrets = [private_image.password, _auth_value(private_image)]
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    for secret in secrets:
        assert secret not in logged
    clear_engine(engine)


def _auth_value(image: PrivateImage) -> str:
    return registry_auth.encode(
        username=image.username, password=image.password, serveraddress=image.registry
    )


def _assert_engine_holds_no_secret(engine: EngineInfo, image: PrivateImage) -> None:
    documents = engine_containers(engine)
    for secret in (image.password, _auth_value(image)):
        for doc in documents:
            assert secret not in str(doc["Config"]), "a container config holds the secret"
            assert secret not in str(doc)
    assert files_containing(engine.log_path.parent, image.password.encode()) == []


def test_private_image_pulled_with_just_in_time_credentials_runs_e2e(
    operator: Operator, live: LiveServer, engine: EngineInfo, private_image: PrivateImage
) -> None:
    assert any(c in private_image.password for c in "?>~")
    creds = operator.credentials(private_image.username, private_image.password)
    release = operator.release(private_image.image, creds["id"], env={"MODE": "e2e"})
    device = operator.device()
    deployment = operator.deploy(release, device)

    with agent_running(live, device["token"], engine):
        state = wait_for(lambda: operator.status_is(deployment, "running"), what="running")

    assert state["message"] is None
    container_id = release["containers"][0]["id"]
    assert managed(engine) == [(deployment["id"], container_id, "running")]
    (doc,) = engine_containers(engine)
    assert "MODE=e2e" in doc["Config"]["Env"]
    issued = operator.audit(credentials_id=creds["id"], action="registry_auth.issued")
    assert [e["device_id"] for e in issued] == [device["id"]]
    seen = operator.call("GET", f"/devices/{device['id']}", 200)
    assert seen["engine"] and seen["last_seen_at"]
    events = operator.call("GET", f"/deployments/{deployment['id']}/events", 200)["items"]
    assert {"pulled", "created", "started"} <= {e["kind"] for e in events}
    _assert_engine_holds_no_secret(engine, private_image)


def test_wrong_credentials_report_registry_error_and_back_off_e2e(
    operator: Operator, live: LiveServer, engine: EngineInfo, private_image: PrivateImage
) -> None:
    wrong = operator.credentials(private_image.username, f"{private_image.password}-wrong")
    release = operator.release(private_image.image, wrong["id"])
    device = operator.device()
    deployment = operator.deploy(release, device)

    with agent_running(live, device["token"], engine):
        started = time.monotonic()
        state = wait_for(lambda: operator.status_is(deployment, "error"), what="error")
        assert UNAUTHORIZED in state["message"]
        time.sleep(max(0.0, 15 - (time.monotonic() - started)))
        issued = operator.audit(credentials_id=wrong["id"], action="registry_auth.issued")

    # Backoff of 2 s doubling (jittered down by at most 20 %): attempts near 0, 2, 6 and 14 s.
    assert 2 <= len(issued) <= 5
    assert managed(engine) == []
    failures = operator.audit(device_id=device["id"], action="pull.failed")
    assert failures and UNAUTHORIZED in failures[0]["summary"]


def test_deleted_credentials_keep_running_container_and_fail_new_deployment_e2e(
    operator: Operator,
    live: LiveServer,
    engine: EngineInfo,
    second_engine: EngineInfo,
    private_image: PrivateImage,
) -> None:
    creds = operator.credentials(private_image.username, private_image.password)
    release = operator.release(private_image.image, creds["id"])
    first, second = operator.device(), operator.device()
    running = operator.deploy(release, first)

    with agent_running(live, first["token"], engine):
        wait_for(lambda: operator.status_is(running, "running"), what="running")
        operator.call("DELETE", f"/image-credentials/{creds['id']}", 409)
        operator.call("DELETE", f"/image-credentials/{creds['id']}", 204, params={"force": True})
        late = operator.deploy(release, second)
        clear_engine(second_engine)
        with agent_running(live, second["token"], second_engine):
            state = wait_for(lambda: operator.status_is(late, "error"), what="error")
        time.sleep(3)  # a few more passes of the first agent: it leaves its container alone
        assert operator.status_is(running, "running")

    assert creds["id"] in state["message"] and "deleted" in state["message"]
    assert [row[2] for row in managed(engine)] == ["running"]
    assert managed(second_engine) == []
    _assert_engine_holds_no_secret(second_engine, private_image)


def test_registry_auth_refused_for_other_device_and_other_tenant_e2e(
    operator: Operator, live: LiveServer, private_image: PrivateImage
) -> None:
    creds = operator.credentials(private_image.username, private_image.password)
    release = operator.release(private_image.image, creds["id"])
    owner, other = operator.device(), operator.device()
    deployment = operator.deploy(release, owner)
    ids = {"deployment_id": deployment["id"], "container_id": release["containers"][0]["id"]}
    created = live.cli("tenants", "create", f"globex-{os.getpid()}", check=True)
    foreign = Operator(live, token=created.stdout.strip()).device()

    for token in (other["token"], foreign["token"]):
        with ServerClient(live.url, token=token) as client, pytest.raises(RegistryAuthRefused):
            client.registry_auth(**ids)
    with ServerClient(live.url, token=owner["token"]) as client:
        assert client.registry_auth(**ids).serveraddress == private_image.registry
    issued = operator.audit(credentials_id=creds["id"], action="registry_auth.issued")
    assert [e["device_id"] for e in issued] == [owner["id"]]


def test_agent_killed_mid_deployment_converges_without_duplicates_e2e(
    operator: Operator, live: LiveServer, engine: EngineInfo, private_image: PrivateImage
) -> None:
    creds = operator.credentials(private_image.username, private_image.password)
    release = operator.release(private_image.image, creds["id"])
    device = operator.device()
    deployment = operator.deploy(release, device)

    class DiesAfterCreate(Engine):
        def create(self, *args: object, **kwargs: object) -> str:
            super().create(*args, **kwargs)  # type: ignore[arg-type]
            raise Killed

    with (
        ServerClient(live.url, token=device["token"]) as client,
        DiesAfterCreate(engine.url) as dying,
        pytest.raises(Killed),
    ):
        Agent(client, dying, poll_wait=1).run()
    assert [row[2] for row in managed(engine)] == ["created"]

    with agent_running(live, device["token"], engine):
        wait_for(lambda: operator.status_is(deployment, "running"), what="running")
        time.sleep(3)  # more passes: still exactly one container

    assert managed(engine) == [(deployment["id"], release["containers"][0]["id"], "running")]


def test_agent_command_runs_and_stops_cleanly_on_sigterm_e2e(
    operator: Operator,
    live: LiveServer,
    engine: EngineInfo,
    private_image: PrivateImage,
    tmp_path: Path,
) -> None:
    creds = operator.credentials(private_image.username, private_image.password)
    release = operator.release(private_image.image, creds["id"])
    device = operator.device()
    deployment = operator.deploy(release, device)
    home = tmp_path / "device"
    home.mkdir()
    token_file = home / "token"
    token_file.write_text(device["token"] + "\n")
    token_file.chmod(0o600)
    log_path = tmp_path / "agent.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGEDOCK_", "DOCKER_"))}
    command = [
        EDGEDOCK, "agent", "--server", live.url, "--token-file", str(token_file),
        "--engine", engine.url, "--poll-wait", "2", "--log-level", "DEBUG",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=home, env=env, stdout=log, stderr=log)
    try:
        wait_for(lambda: operator.status_is(deployment, "running"), what="running")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    output = log_path.read_text()
    assert "agent stopped" in output and "pulling" in output
    assert private_image.password not in output and _auth_value(private_image) not in output
    assert sorted(p.name for p in home.iterdir()) == ["token"]  # the agent wrote nothing
    assert [row[2] for row in managed(engine)] == ["running"]  # stopping the agent stops nothing
    _assert_engine_holds_no_secret(engine, private_image)


def test_server_log_holds_no_secret_e2e(live: LiveServer, private_image: PrivateImage) -> None:
    """Last, after every scenario above ran against this server: its DEBUG log is clean too."""
    log = live.log()
    assert "registry-auth" in log
    assert private_image.password not in log and _auth_value(private_image) not in log
