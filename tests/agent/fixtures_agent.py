"""An in-test device API (`httpx.MockTransport`) and a simulated clock, for the agent's loop tests.

`FakeServer` implements the three device endpoints the way PRODUCT.md describes them: the
long-polled desired state (ETag, If-None-Match, ?wait=), the just-in-time registry auth (200,
404, 410 with a message naming the deleted credentials) and the status report (204). A long
poll with nothing new "waits" by advancing the simulated clock, so hours of backoff run in a
moment while the engine underneath stays real.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from edgedock import registry_auth, wire
from edgedock.agent.engine import Engine
from edgedock.agent.loop import Agent
from edgedock.agent.server_client import ServerClient
from tests.support.engine import EngineInfo, run_podman
from tests.support.fixtures import PrivateImage

DEVICE_TOKEN = "edt_device-token-for-tests"
BASE_URL = "http://edgedock.test"


class FakeClock:
    """Monotonic seconds and wall time that move only when someone sleeps or waits."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.start = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.t)


@dataclass
class FakeServer:
    clock: FakeClock
    username: str = "deployer"
    password: str = "not-set"
    state: wire.DesiredState = field(
        default_factory=lambda: wire.DesiredState(device_id="dev-1", deployments=[])
    )
    deleted: dict[tuple[str, str], str] = field(default_factory=dict)  # key → credentials label
    down: bool = False
    requests: list[tuple[float, str, str]] = field(default_factory=list)  # (time, method, path)
    reports: list[wire.StatusReport] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)  # every x_registry_auth handed out
    # The registry-auth endpoint alone failing: an exception (a reset) or a response (a 503).
    auth_failure: httpx.Response | Exception | None = None
    # Called once an auth is handed out: what happens on the server while the device pulls.
    after_auth: Callable[[], None] | None = None
    token: str = DEVICE_TOKEN

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.state.model_dump_json().encode()).hexdigest()[:16] + '"'

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def count(self, path: str, since: float = float("-inf")) -> int:
        return sum(1 for t, _, p in self.requests if p.endswith(path) and t >= since)

    def latest(self, deployment_id: str, container_id: str) -> wire.ContainerReport | None:
        for report in reversed(self.reports):
            for container in report.containers:
                if (container.deployment_id, container.container_id) == (
                    deployment_id,
                    container_id,
                ):
                    return container
        return None

    def statuses(self, deployment_id: str, container_id: str) -> list[str]:
        return [
            c.status
            for r in self.reports
            for c in r.containers
            if (c.deployment_id, c.container_id) == (deployment_id, container_id)
        ]

    def events(self) -> list[wire.StatusEvent]:
        return [e for r in self.reports for e in r.events]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((self.clock.t, request.method, request.url.path))
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "unauthorized", "invalid device token")
        route = (request.method, request.url.path)
        if route == ("GET", "/device/v1/desired-state"):
            return self._desired_state(request)
        if route == ("POST", "/device/v1/registry-auth"):
            if isinstance(self.auth_failure, Exception):
                raise self.auth_failure
            if self.auth_failure is not None:
                return self.auth_failure
            return self._registry_auth(
                wire.RegistryAuthRequest.model_validate_json(request.content)
            )
        if route == ("POST", "/device/v1/status"):
            self.reports.append(wire.StatusReport.model_validate_json(request.content))
            return httpx.Response(204)
        return _error(404, "not_found", "no such route")

    def _desired_state(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("If-None-Match") == self.etag:
            self.clock.sleep(float(request.url.params.get("wait", "0")))  # the long poll's wait
            return httpx.Response(304, headers={"ETag": self.etag})
        return httpx.Response(
            200, content=self.state.model_dump_json(), headers={"ETag": self.etag}
        )

    def _registry_auth(self, body: wire.RegistryAuthRequest) -> httpx.Response:
        key = (body.deployment_id, body.container_id)
        spec = next(
            (
                c
                for d in self.state.deployments
                for c in d.containers
                if (d.id, c.id) == key and c.needs_credentials
            ),
            None,
        )
        if spec is None:
            return _error(404, "not_found", "container not found in this device's deployments")
        if key in self.deleted:
            message = (
                f"the image credentials '{self.deleted[key]}' of container {spec.name} were "
                "deleted; make a new release with other credentials"
            )
            return _error(410, "credentials_deleted", message)
        value, address = registry_auth.for_image(
            spec.image, username=self.username, password=self.password
        )
        self.issued.append(value)
        if self.after_auth is not None:
            self.after_auth()
        answer = wire.RegistryAuthResponse(x_registry_auth=value, serveraddress=address)
        return httpx.Response(200, content=answer.model_dump_json())


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


def container_spec(
    image: str, name: str = "web", cid: str = "c-web", **more: object
) -> wire.ContainerSpec:
    fields: dict[str, object] = {"id": cid, "name": name, "image": image, "needs_credentials": True}
    fields.update(more)
    return wire.ContainerSpec.model_validate(fields)


def desired(
    *containers: wire.ContainerSpec,
    dep: str = "d-0001",
    desired: wire.DesiredRun = "started",
    device: str = "dev-1",
) -> wire.DesiredState:
    deployment = wire.DeploymentSpec(
        id=dep,
        release_id="r-1",
        application="app",
        version="1.0.0",
        desired=desired,
        containers=list(containers),
    )
    return wire.DesiredState(device_id=device, deployments=[deployment])


@dataclass
class AgentKit:
    """Everything a loop test needs; `new_agent()` starts a fresh Agent as after a restart.

    `another_server()` is the device API of a second device, on the same clock and registry.
    """

    clock: FakeClock
    server: FakeServer
    engine_url: str
    image: PrivateImage
    poll_wait: float = 30.0
    closers: list[Callable[[], None]] = field(default_factory=list)

    def another_server(self, device_id: str) -> FakeServer:
        return FakeServer(
            self.clock,
            username=self.server.username,
            password=self.server.password,
            state=wire.DesiredState(device_id=device_id, deployments=[]),
        )

    def new_agent(
        self,
        engine: Engine | None = None,
        *,
        rand: float = 0.5,
        server: FakeServer | None = None,
        token_file: Path | None = None,
    ) -> Agent:
        server = server or self.server
        token = DEVICE_TOKEN if token_file is None else token_file.read_text().strip()
        client = ServerClient(
            BASE_URL, token=token, token_file=token_file, transport=server.transport()
        )
        engine = engine or Engine(self.engine_url)
        self.closers += [client.close, engine.close]
        return Agent(
            client,
            engine,
            poll_wait=self.poll_wait,
            clock=self.clock.monotonic,
            sleep=self.clock.sleep,
            now=self.clock.now,
            rand=lambda: rand,
        )


@pytest.fixture
def agent_kit(engine: EngineInfo, private_image: PrivateImage) -> Iterator[AgentKit]:
    """A fake server that hands out the registry's real credentials, and a clean engine."""
    clock = FakeClock()
    server = FakeServer(clock, username=private_image.username, password=private_image.password)
    kit = AgentKit(clock, server, engine.url, private_image)
    yield kit
    for close in kit.closers:
        close()
    run_podman(engine.env, "rm", "--all", "--force", "--time", "0")


def engine_view(engine: EngineInfo) -> list[dict[str, object]]:
    """Every container's full inspect document, read with podman itself, past the agent."""
    ids = run_podman(engine.env, "ps", "--all", "--quiet", "--no-trunc").split()
    if not ids:
        return []
    documents: list[dict[str, object]] = json.loads(run_podman(engine.env, "inspect", *ids))
    return documents


def files_containing(root: Path, needle: bytes) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if needle in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found
