"""Issue 11, for real: the Debian registry trusts only edgedock, and devices never hold a password.

A live `edgedock serve` (SQLite) brokers the registry: the Debian `docker-registry` (2.8) runs
with `auth: token:` set to edgedock's realm, service, issuer and published bundle. A CI account
pushes with `podman push` and `docker push`; agents on Podman and on the Docker Engine pull the
deployed image through their engine's token exchange, with nothing but a pull secret. Then the
refusals: another repository, a push, an expired secret, a removed deployment or device. And a
key rotation while the registry keeps running with the bundle it was started with.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from edgedock.agent.engine import Engine, EnginePullFailed
from edgedock.registries.signing_keys import b64url
from tests.conftest import create_database
from tests.e2e.agent_support import (
    Operator,
    agent_running,
    clear_engine,
    engine_containers,
    files_containing,
    wait_for,
)
from tests.support.docker_engine import (
    DockerEngineInfo,
    DockerEngineStartFailed,
    build_and_push_test_image_with_docker,
    run_docker,
    running_docker_engine,
)
from tests.support.engine import EngineInfo, build_and_push_test_image, running_engine
from tests.support.live_server import EDGEDOCK, LiveServer, running_server
from tests.support.registry import RegistryInfo, TokenAuth, free_port, running_registry

pytestmark = pytest.mark.real_engine

# Every token edgedock signs starts with this (its header's first 27 bytes, base64url).
TOKEN_PREFIX = b64url(b'{"typ":"JWT","alg":"ES256",')
PULL_SECRET_PREFIX = "edps_"
MANIFEST = (
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json"
)


@dataclass
class Brokered:
    live: LiveServer
    database_path: Path
    operator: Operator
    row: dict[str, Any]  # edgedock's answer for the registry
    info: RegistryInfo
    ci_secret: str

    @property
    def host(self) -> str:
        return self.info.host

    def token(self, login: tuple[str, str], *scopes: str) -> httpx.Response:
        with httpx.Client(timeout=30) as client:
            return client.get(
                self.row["realm"],
                params=[("service", self.row["service"]), *(("scope", s) for s in scopes)],
                auth=login,
            )

    def bundle(self) -> str:
        with self.live.api() as api:
            response = api.get(f"/api/v1/registries/{self.row['id']}/bundle.pem")
        assert response.status_code == 200
        return response.text


@pytest.fixture(scope="module")
def brokered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Brokered]:
    folder = tmp_path_factory.mktemp("brokered")
    url = create_database("sqlite", folder)
    with running_server(folder / "server", url) as live:
        operator = Operator(live)
        port = free_port()
        row = operator.call("POST", "/registries", 201, json={"host": f"localhost:{port}"})
        bundle = folder / "bundle.pem"
        with live.api() as api:
            bundle.write_text(api.get(f"/api/v1/registries/{row['id']}/bundle.pem").text)
        ci = operator.call(
            "POST",
            f"/registries/{row['id']}/accounts",
            201,
            json={"name": "ci", "access": [{"repository": "team/*", "actions": ["pull", "push"]}]},
        )
        token = TokenAuth(
            realm=row["realm"], service=row["service"], issuer=row["issuer"], rootcertbundle=bundle
        )
        with running_registry(folder / "registry", token=token, port=port) as info:
            yield Brokered(
                live, Path(url.removeprefix("sqlite:///")), operator, row, info, ci["secret"]
            )


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory, brokered: Brokered) -> Iterator[EngineInfo]:
    with running_engine(tmp_path_factory.mktemp("podman"), [brokered.host]) as info:
        yield info


@pytest.fixture(scope="module")
def images(
    tmp_path_factory: pytest.TempPathFactory, brokered: Brokered, podman: EngineInfo
) -> dict[str, str]:
    """Pushed by the CI account with `podman push`: the deployed image and one never deployed."""
    pushed = {}
    for name in ("app", "other"):
        image = f"{brokered.host}/team/{name}:1.0"
        build_and_push_test_image(
            podman.env, tmp_path_factory.mktemp(f"image-{name}"), image, "ci", brokered.ci_secret
        )
        pushed[name] = image
    return pushed


@pytest.fixture(scope="module")
def docker(
    tmp_path_factory: pytest.TempPathFactory, brokered: Brokered
) -> Iterator[DockerEngineInfo]:
    try:
        context = running_docker_engine(tmp_path_factory.mktemp("docker"), [brokered.host])
        info = context.__enter__()
    except DockerEngineStartFailed as exc:
        pytest.skip(f"the Docker Engine cannot start on this machine: {exc}")
    try:
        yield info
    finally:
        context.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def nothing_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert PULL_SECRET_PREFIX not in logged and TOKEN_PREFIX not in logged


def _assert_no_pull_secret_or_token(*roots: Path, documents: list[dict[str, Any]]) -> None:
    for root in roots:
        for needle in (PULL_SECRET_PREFIX, TOKEN_PREFIX):
            assert files_containing(root, needle.encode()) == [], (root, needle)
    for doc in documents:
        text = json.dumps(doc)
        assert PULL_SECRET_PREFIX not in text and TOKEN_PREFIX not in text


def _device_auth(
    brokered: Brokered, device: dict[str, Any], deployment: dict[str, Any], release: dict[str, Any]
) -> str:
    """The X-Registry-Auth a device's agent gets before a pull (the device API, as the agent)."""
    with httpx.Client(
        base_url=brokered.live.url, headers={"Authorization": f"Bearer {device['token']}"}
    ) as client:
        response = client.post(
            "/device/v1/registry-auth",
            json={
                "deployment_id": deployment["id"],
                "container_id": release["containers"][0]["id"],
            },
        )
    assert response.status_code == 200, response.text
    return str(response.json()["x_registry_auth"])


def _login(x_registry_auth: str) -> tuple[str, str]:
    decoded = json.loads(base64.urlsafe_b64decode(x_registry_auth))
    return decoded["username"], decoded["password"]


def _deployed(
    brokered: Brokered, image: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    release = brokered.operator.release(image, None)
    device = brokered.operator.device()
    return release, device, brokered.operator.deploy(release, device)


def _manifest(brokered: Brokered, token: str, repository: str = "team/app") -> int:
    """The registry's verdict on a pull token: the image's manifest, as an engine asks for it."""
    with httpx.Client(timeout=30) as client:
        return client.get(
            f"{brokered.info.url}/v2/{repository}/manifests/1.0",
            headers={"Authorization": f"Bearer {token}", "Accept": MANIFEST},
        ).status_code


def test_device_on_podman_pulls_brokered_image_and_runs_e2e(
    brokered: Brokered, podman: EngineInfo, images: dict[str, str]
) -> None:
    clear_engine(podman)
    release, device, deployment = _deployed(brokered, images["app"])
    with agent_running(brokered.live, device["token"], podman):
        wait_for(lambda: brokered.operator.status_is(deployment, "running"), what="running")
    issued = brokered.operator.audit(device_id=device["id"], action="registry_token.issued")
    assert issued, "the engine's token requests are audited"
    granted = [a for e in issued for a in e["details"]["access"]]
    assert granted and all(
        a == {"type": "repository", "name": "team/app", "actions": ["pull"]} for a in granted
    )
    trail = json.dumps(brokered.operator.audit(device_id=device["id"]))
    assert PULL_SECRET_PREFIX not in trail and TOKEN_PREFIX not in trail
    _assert_no_pull_secret_or_token(podman.log_path.parent, documents=engine_containers(podman))
    clear_engine(podman)


def test_device_on_docker_engine_pulls_brokered_image_and_runs_e2e(
    brokered: Brokered, docker: DockerEngineInfo, tmp_path: Path
) -> None:
    image = f"{brokered.host}/team/docker-app:1.0"
    build_and_push_test_image_with_docker(docker.env, tmp_path, image, "ci", brokered.ci_secret)
    release, device, deployment = _deployed(brokered, image)
    engine = EngineInfo(
        url=docker.url,
        socket_path=docker.socket_path,
        env=docker.env,
        storage_driver="vfs",
        process=docker.process,
        log_path=docker.log_path,
    )
    with agent_running(brokered.live, device["token"], engine):
        wait_for(lambda: brokered.operator.status_is(deployment, "running"), what="running")
    ids = run_docker(docker.env, "ps", "--all", "--quiet", "--no-trunc").split()
    documents = json.loads(run_docker(docker.env, "inspect", *ids)) if ids else []
    assert documents, "the container runs on the Docker Engine"
    _assert_no_pull_secret_or_token(docker.log_path.parent, documents=documents)
    issued = brokered.operator.audit(device_id=device["id"], action="registry_token.issued")
    assert any(a["name"] == "team/docker-app" for e in issued for a in e["details"]["access"])


def test_device_cannot_pull_other_repository_nor_push_e2e(
    brokered: Brokered, podman: EngineInfo, images: dict[str, str]
) -> None:
    release, device, deployment = _deployed(brokered, images["app"])
    auth = _device_auth(brokered, device, deployment, release)
    with Engine(podman.url) as engine:
        with pytest.raises(EnginePullFailed) as refused:
            engine.pull(images["other"], x_registry_auth=auth)
        engine.pull(images["app"], x_registry_auth=auth)  # the same secret pulls its own image
    assert "denied" in str(refused.value) or "unauthorized" in str(refused.value)
    asked = brokered.token(_login(auth), "repository:team/app:pull,push")
    assert asked.status_code == 200
    token = asked.json()["token"]
    with httpx.Client(timeout=30) as client:
        upload = client.post(
            f"{brokered.info.url}/v2/team/app/blobs/uploads/",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert upload.status_code == 401, "a device's token must not allow a push"
    clear_engine(podman)
    run_podman_rmi(podman, images["app"])


def run_podman_rmi(podman: EngineInfo, image: str) -> None:
    from tests.support.engine import run_podman

    run_podman(podman.env, "rmi", "--ignore", image)


def test_expired_secret_removed_deployment_and_device_are_refused_e2e(
    brokered: Brokered, podman: EngineInfo, images: dict[str, str]
) -> None:
    release, device, deployment = _deployed(brokered, images["app"])
    expired = _device_auth(brokered, device, deployment, release)
    with sqlite3.connect(brokered.database_path) as db:
        db.execute(
            "UPDATE registry_pull_secret SET expires_at = '2000-01-01 00:00:00.000000' "
            "WHERE device_id = ?",
            (device["id"].replace("-", ""),),
        )
    assert brokered.token(_login(expired), "repository:team/app:pull").status_code == 401

    fresh = _device_auth(brokered, device, deployment, release)
    assert brokered.token(_login(fresh), "repository:team/app:pull").status_code == 200
    brokered.operator.call("DELETE", f"/deployments/{deployment['id']}", 204)
    assert brokered.token(_login(fresh), "repository:team/app:pull").status_code == 401

    release2, device2, deployment2 = _deployed(brokered, images["app"])
    auth2 = _device_auth(brokered, device2, deployment2, release2)
    brokered.operator.call("DELETE", f"/devices/{device2['id']}", 204)
    for auth in (expired, fresh, auth2):
        with Engine(podman.url) as engine, pytest.raises(EnginePullFailed):
            engine.pull(images["app"], x_registry_auth=auth)
        assert brokered.token(_login(auth), "repository:team/app:pull").status_code == 401


def test_key_rotation_mid_run_tokens_before_and_after_verify_e2e(
    brokered: Brokered, podman: EngineInfo, images: dict[str, str]
) -> None:
    ci = ("ci", brokered.ci_secret)
    before = brokered.token(ci, "repository:team/app:pull").json()["token"]
    assert _manifest(brokered, before) == 200
    rotated = brokered.live.cli("keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    after = brokered.token(ci, "repository:team/app:pull").json()["token"]
    assert _x5c(after) != _x5c(before), "the rotation moved signing to another key"
    # The registry still runs with the bundle it was started with: both verify there.
    assert _manifest(brokered, before) == 200
    assert _manifest(brokered, after) == 200
    published = brokered.bundle()
    for token in (before, after):
        assert _x5c(token) in published.replace("\n", "")
    release, device, deployment = _deployed(brokered, images["app"])
    with Engine(podman.url) as engine:
        engine.pull(
            images["app"], x_registry_auth=_device_auth(brokered, device, deployment, release)
        )
    run_podman_rmi(podman, images["app"])


def _x5c(token: str) -> str:
    head = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["x5c"][0])


def test_agent_process_leaves_no_pull_secret_or_token_e2e(
    brokered: Brokered, podman: EngineInfo, images: dict[str, str], tmp_path: Path
) -> None:
    """`edgedock agent` as a process, logging at DEBUG: its folder, log and engine stay clean."""
    clear_engine(podman)
    release, device, deployment = _deployed(brokered, images["app"])
    home = tmp_path / "device"
    home.mkdir()
    token_file = home / "token"
    token_file.write_text(device["token"] + "\n")
    token_file.chmod(0o600)
    log_path = tmp_path / "agent.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGEDOCK_", "DOCKER_"))}
    command = [
        EDGEDOCK, "agent", "--server", brokered.live.url, "--token-file", str(token_file),
        "--engine", podman.url, "--poll-wait", "2", "--log-level", "DEBUG",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=home, env=env, stdout=log, stderr=log)
    try:
        wait_for(lambda: brokered.operator.status_is(deployment, "running"), what="running")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log_path.read_text()
    assert "pulling" in output
    assert PULL_SECRET_PREFIX not in output and TOKEN_PREFIX not in output
    assert sorted(p.name for p in home.iterdir()) == ["token"]  # the agent wrote nothing
    _assert_no_pull_secret_or_token(podman.log_path.parent, documents=engine_containers(podman))
    clear_engine(podman)


def test_server_log_holds_no_pull_secret_or_token_e2e(brokered: Brokered) -> None:
    """Last, after every scenario above: the server's DEBUG log is clean too."""
    log = brokered.live.log()
    assert "/registry/v1/" in log and "registry-auth" in log
    assert PULL_SECRET_PREFIX not in log and TOKEN_PREFIX not in log
