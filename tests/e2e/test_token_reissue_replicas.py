"""Two replicas on one PostgreSQL: a token re-issued on A is refused at once on B, warm or parked."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import BACKENDS, create_database, drop_database
from tests.support.live_server import running_server, server_env

pytestmark = pytest.mark.skipif(
    "postgresql" not in BACKENDS, reason="EDGEDOCK_TEST_BACKENDS excludes postgresql"
)


def test_token_reissued_on_replica_a_is_refused_by_replica_b_that_had_it_cached(tmp_path):
    url = create_database("postgresql", tmp_path)
    env = server_env(tmp_path, url)
    try:
        with (
            running_server(tmp_path / "a", url, env=env, tenant="acme") as a,
            running_server(tmp_path / "b", url, env=env, tenant="spare") as b,
            a.api() as api,
        ):
            device = api.post("/api/v1/devices", json={"name": "gw-reissued"}).json()
            result = {}
            with b.api(device["token"]) as old:
                etag = old.get("/device/v1/desired-state").headers["etag"]
                assert old.get("/device/v1/ping").status_code == 204  # B now knows the token

                def poll():
                    # The client gives up long before the 60 s wait: only a prompt 401 passes.
                    result["response"] = old.get(
                        "/device/v1/desired-state",
                        params={"wait": 60},
                        headers={"If-None-Match": etag},
                        timeout=20,
                    )

                waiter = threading.Thread(target=poll)
                waiter.start()
                time.sleep(0.5)  # the poll is parked on replica B
                reissued = api.post(f"/api/v1/devices/{device['id']}/token")
                assert reissued.status_code == 200
                waiter.join(timeout=25)
                assert result["response"].status_code == 401
                assert old.get("/device/v1/ping").status_code == 401, "B's cache forgot it"
            with b.api(reissued.json()["token"]) as new:
                assert new.get("/device/v1/ping").status_code == 204
    finally:
        drop_database(url)
