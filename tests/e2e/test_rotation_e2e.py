"""Rotation for real: a device on Podman runs a release pulled with old credentials; the old
registry user is removed, the credentials are replaced (checked against the registry first),
and the agent pulls the upgraded release with the new ones. The old credentials then delete
without force.

A live `edgedock serve`, the Debian docker-registry with two htpasswd users, Podman's Docker API
service and the agent in a thread: nothing is faked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import factories
from tests.conftest import create_database
from tests.e2e.agent_support import Operator, agent_running, clear_engine, managed, wait_for
from tests.support.engine import EngineInfo, build_and_push_test_image, running_engine
from tests.support.live_server import LiveServer, running_server, server_env
from tests.support.registry import RegistryInfo, running_registry, write_htpasswd

pytestmark = pytest.mark.real_engine


@dataclass(frozen=True)
class TwoUsers:
    info: RegistryInfo
    folder: Path
    users: dict[str, str]  # username → password

    def only(self, username: str) -> None:
        """Rewrite the htpasswd file with one user: the registry reloads it on change."""
        write_htpasswd(self.folder / "htpasswd", {username: self.users[username]})

    def accepts(self, username: str) -> bool:
        with httpx.Client(trust_env=False, timeout=5) as client:
            response = client.get(f"{self.info.url}/v2/", auth=(username, self.users[username]))
        return response.status_code == 200


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoUsers]:
    users = {
        "old-robot": factories.unique_password("old"),
        "new-robot": factories.unique_password("new"),
    }
    folder = tmp_path_factory.mktemp("rotation-registry")
    with running_registry(folder, users) as info:
        yield TwoUsers(info, folder, users)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, registry: TwoUsers) -> Iterator[EngineInfo]:
    with running_engine(tmp_path_factory.mktemp("rotation-engine"), [registry.info.host]) as info:
        yield info


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("rotation-e2e")
    url = create_database("sqlite", folder)
    # The server may check credentials against the loopback registry over plain HTTP.
    env = {**server_env(folder / "server", url), "EDGEDOCK_INSECURE_REGISTRIES": "localhost"}
    with running_server(folder / "server", url, env=env) as server:
        yield server


def _on_release(operator: Operator, deployment: dict[str, Any], release_id: str) -> Any:
    read = operator.call("GET", f"/deployments/{deployment['id']}", 200)
    running = read["release_id"] == release_id and read["status"] == "running"
    return read if running else None


def test_agent_pulls_the_replaced_release_with_the_new_credentials_e2e(
    live: LiveServer, engine: EngineInfo, registry: TwoUsers, tmp_path: Path
) -> None:
    clear_engine(engine)
    operator = Operator(live)
    image = f"{registry.info.host}/team/rotate:1.0"
    old_password, new_password = registry.users["old-robot"], registry.users["new-robot"]
    build_and_push_test_image(engine.env, tmp_path / "image", image, "old-robot", old_password)
    old = operator.credentials("old-robot", old_password)
    release = operator.release(image, old["id"])
    device = operator.device()
    deployment = operator.deploy(release, device)

    with agent_running(live, device["token"], engine):
        wait_for(lambda: _on_release(operator, deployment, release["id"]), what="1.0.0 running")
        # The registry stops knowing the old user: only the new credentials can pull now.
        registry.only("new-robot")
        wait_for(lambda: not registry.accepts("old-robot"), what="the old user refused")
        new = operator.credentials("new-robot", new_password)
        body = {"with": new["id"], "check": True}
        path = f"/image-credentials/{old['id']}/replace"
        dry = operator.call("POST", path, 200, json={**body, "dry_run": True})
        plan = operator.call("POST", path, 200, json=body)
        (successor,) = plan["releases"]
        assert (successor["from_version"], successor["to_version"]) == ("1.0.0", "1.0.1")
        assert [d["deployment_id"] for d in plan["deployments"]] == [deployment["id"]]
        assert [d["name"] for d in plan["devices"]] == [device["name"]]
        assert plan["checked"] == [{"image": image, "ok": True, "status": "ok"}]
        assert {**dry, "dry_run": False, "releases": [{**successor, "to_release_id": None}]} == {
            **plan,
            "releases": [{**successor, "to_release_id": None}],
        }
        wait_for(
            lambda: _on_release(operator, deployment, successor["to_release_id"]),
            timeout=120,
            what="1.0.1 running",
        )

    upgraded = operator.call("GET", f"/releases/{successor['to_release_id']}", 200)
    (container,) = upgraded["containers"]
    assert container["image_credentials_id"] == new["id"]
    assert managed(engine) == [(deployment["id"], container["id"], "running")]
    issued = operator.audit(credentials_id=new["id"], action="registry_auth.issued")
    assert issued and issued[0]["device_id"] == device["id"]
    events = operator.call("GET", f"/deployments/{deployment['id']}/events", 200)
    pulls = [e for e in events["items"] if e["kind"] == "pulled"]
    assert len(pulls) >= 2, "pulled once per release, the second time with the new credentials"
    # No deployed or highest release uses the old credentials any more: no force needed.
    operator.call("DELETE", f"/image-credentials/{old['id']}", 204)
    log = live.log()
    assert old_password not in log and new_password not in log
