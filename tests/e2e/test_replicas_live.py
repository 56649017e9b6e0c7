"""Two server replicas on one PostgreSQL: a deployment made on A wakes a device polling B."""

from __future__ import annotations

import threading
import time

import pytest

from tests import factories
from tests.conftest import BACKENDS, create_database, drop_database
from tests.support.live_server import running_server, server_env

pytestmark = pytest.mark.skipif(
    "postgresql" not in BACKENDS, reason="EDGEDOCK_TEST_BACKENDS excludes postgresql"
)


def test_deployment_on_replica_a_wakes_device_polling_replica_b(tmp_path):
    url = create_database("postgresql", tmp_path)
    env = server_env(tmp_path, url)  # one keyring for both replicas, as in production
    try:
        with (
            running_server(tmp_path / "a", url, env=env, tenant="acme") as a,
            running_server(tmp_path / "b", url, env=env, tenant="spare") as b,
            a.api() as api,
        ):
            app = api.post("/api/v1/applications", json={"name": "replicated"}).json()
            release = api.post(
                f"/api/v1/applications/{app['id']}/releases",
                json={
                    "version": "1.0.0",
                    "containers": [factories.container("web", "busybox:1.36")],
                },
            ).json()
            device = api.post("/api/v1/devices", json={"name": "gw-b"}).json()
            result = {}
            with b.api(device["token"]) as agent:
                etag = agent.get("/device/v1/desired-state").headers["etag"]

                def poll():
                    result["response"] = agent.get(
                        "/device/v1/desired-state",
                        params={"wait": 30},
                        headers={"If-None-Match": etag},
                        timeout=40,
                    )

                waiter = threading.Thread(target=poll)
                waiter.start()
                time.sleep(0.5)  # the poll is parked on replica B
                created = api.post(
                    "/api/v1/deployments",
                    json={"release_id": release["id"], "device_id": device["id"]},
                )
                assert created.status_code == 201
                waiter.join(timeout=35)
        response = result["response"]
        assert response.status_code == 200, "a 304 means replica B was never told"
        assert [d["id"] for d in response.json()["deployments"]] == [created.json()["id"]]
    finally:
        drop_database(url)


def test_deleting_a_device_on_replica_a_ends_its_cached_sessions_on_replica_b(tmp_path):
    url = create_database("postgresql", tmp_path)
    env = server_env(tmp_path, url)
    try:
        with (
            running_server(tmp_path / "a", url, env=env, tenant="acme") as a,
            running_server(tmp_path / "b", url, env=env, tenant="spare") as b,
            a.api() as api,
        ):
            device = api.post("/api/v1/devices", json={"name": "gw-gone"}).json()
            result = {}
            with b.api(device["token"]) as agent:
                etag = agent.get("/device/v1/desired-state").headers["etag"]
                assert agent.get("/device/v1/ping").status_code == 204  # B now knows the token

                def poll():
                    # The client gives up long before the 60 s wait: only a prompt 401 passes.
                    result["response"] = agent.get(
                        "/device/v1/desired-state",
                        params={"wait": 60},
                        headers={"If-None-Match": etag},
                        timeout=20,
                    )

                waiter = threading.Thread(target=poll)
                waiter.start()
                time.sleep(0.5)  # the poll is parked on replica B
                assert api.delete(f"/api/v1/devices/{device['id']}").status_code == 204
                waiter.join(timeout=25)
                assert result["response"].status_code == 401
                assert agent.get("/device/v1/ping").status_code == 401, "B's cache forgot it"
    finally:
        drop_database(url)
