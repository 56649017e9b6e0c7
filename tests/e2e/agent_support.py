"""Helpers for the agent's end-to-end tests: a live server, operator calls, agents in threads.

Everything here is real: `edgedock serve` as a process on a migrated SQLite database, the Debian
docker-registry with htpasswd, Podman's Docker API service; the agent runs in-process in a
thread (or as `edgedock agent` in a subprocess) against them.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from edgedock.agent.backoff import PULL_BACKOFF, BackoffPolicy
from edgedock.agent.engine import Engine
from edgedock.agent.loop import Agent
from edgedock.agent.server_client import ServerClient
from tests.support.engine import EngineInfo, run_podman
from tests.support.live_server import LiveServer

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], *, timeout: float = 60, what: str = "condition") -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")


@dataclass
class Operator:
    """The REST API as an operator uses it, on one live server and tenant."""

    server: LiveServer
    token: str | None = None

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        with self.server.api(self.token) as api:
            response = api.request(method, f"/api/v1{path}", **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    def credentials(self, username: str, password: str) -> dict[str, Any]:
        body = {"label": f"registry-{secrets.token_hex(3)}", "username": username}
        return dict(
            self.call("POST", "/image-credentials", 201, json={**body, "password": password})
        )

    def release(self, image: str, credentials_id: str | None, **settings: Any) -> dict[str, Any]:
        app = self.call("POST", "/applications", 201, json={"name": f"app-{secrets.token_hex(3)}"})
        container = {"name": "app", "image": image, "image_credentials_id": credentials_id}
        body = {"version": "1.0.0", "containers": [{**container, **settings}]}
        return dict(self.call("POST", f"/applications/{app['id']}/releases", 201, json=body))

    def device(self) -> dict[str, Any]:
        return dict(self.call("POST", "/devices", 201, json={"name": f"gw-{secrets.token_hex(3)}"}))

    def deploy(self, release: dict[str, Any], device: dict[str, Any]) -> dict[str, Any]:
        body = {"release_id": release["id"], "device_id": device["id"]}
        return dict(self.call("POST", "/deployments", 201, json=body))

    def container_state(self, deployment: dict[str, Any]) -> dict[str, Any]:
        read = self.call("GET", f"/deployments/{deployment['id']}", 200)
        (container,) = read["containers"]
        return dict(container)

    def status_is(self, deployment: dict[str, Any], status: str) -> dict[str, Any] | None:
        container = self.container_state(deployment)
        return container if container["status"] == status else None

    def audit(self, **filters: str) -> list[dict[str, Any]]:
        page = self.call("GET", "/audit-events", 200, params={**filters, "limit": 200})
        return list(page["items"])


@dataclass
class AgentThread:
    """An in-process agent for one device, running in a daemon thread until `stop()`."""

    server: LiveServer
    token: str
    engine_url: str
    poll_wait: float = 2.0
    engine: Engine | None = None
    pull_backoff: BackoffPolicy = PULL_BACKOFF
    agent: Agent = field(init=False)
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.client = ServerClient(self.server.url, token=self.token)
        self.engine = self.engine or Engine(self.engine_url)
        self.agent = Agent(
            self.client, self.engine, poll_wait=self.poll_wait, pull_backoff=self.pull_backoff
        )
        self.thread = threading.Thread(target=self.agent.run, daemon=True, name="edgedock-agent")

    def start(self) -> AgentThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.agent.stop()
        self.thread.join(timeout=self.poll_wait + 30)
        assert not self.thread.is_alive(), "the agent did not stop"
        self.client.close()
        if self.engine is not None:
            self.engine.close()


@contextmanager
def agent_running(
    server: LiveServer, token: str, engine: EngineInfo, **kwargs: Any
) -> Iterator[AgentThread]:
    running = AgentThread(server, token, engine.url, **kwargs).start()
    try:
        yield running
    finally:
        running.stop()


def engine_containers(engine: EngineInfo) -> list[dict[str, Any]]:
    """Every container's inspect document, read with podman itself."""
    import json

    ids = run_podman(engine.env, "ps", "--all", "--quiet", "--no-trunc").split()
    documents: list[dict[str, Any]] = (
        json.loads(run_podman(engine.env, "inspect", *ids)) if ids else []
    )
    return documents


def managed(engine: EngineInfo) -> list[tuple[str, str, str]]:
    """(deployment id, container id, state) of each container, sorted."""
    rows = []
    for doc in engine_containers(engine):
        labels = doc["Config"].get("Labels") or {}
        rows.append(
            (
                labels.get("io.edgedock.deployment", ""),
                labels.get("io.edgedock.container", ""),
                doc["State"]["Status"],
            )
        )
    return sorted(rows)


def clear_engine(engine: EngineInfo) -> None:
    run_podman(engine.env, "rm", "--all", "--force", "--time", "0")


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
