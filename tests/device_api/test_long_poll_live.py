"""The long poll on a real server process: a change wakes a waiting device at once."""

from __future__ import annotations

import signal
import threading
import time

from tests import factories
from tests.conftest import create_database
from tests.support.live_server import running_server


def _setup(live_server):
    with live_server.api() as api:
        app = api.post("/api/v1/applications", json={"name": f"poll-{time.monotonic_ns()}"}).json()
        release = api.post(
            f"/api/v1/applications/{app['id']}/releases",
            json={"version": "1.0.0", "containers": [factories.container("web", "busybox:1.36")]},
        ).json()
        device = api.post("/api/v1/devices", json={"name": f"gw-{time.monotonic_ns()}"}).json()
    return release, device


def test_long_poll_wakes_when_deployment_is_made(live_server):
    release, device = _setup(live_server)
    with live_server.api(device["token"]) as agent:
        first = agent.get("/device/v1/desired-state")
        assert first.json()["deployments"] == []
        etag = first.headers["etag"]
        result = {}

        def poll():
            result["response"] = agent.get(
                "/device/v1/desired-state",
                params={"wait": 30},
                headers={"If-None-Match": etag},
                timeout=40,
            )

        waiter = threading.Thread(target=poll)
        waiter.start()
        time.sleep(0.5)  # let the poll start waiting; a change before that answers 200 too
        with live_server.api() as api:
            created = api.post(
                "/api/v1/deployments", json={"release_id": release["id"], "device_id": device["id"]}
            )
            assert created.status_code == 201
        waiter.join(timeout=35)
    response = result["response"]
    assert response.status_code == 200, "a 304 would mean the wait ran out without waking"
    assert [d["id"] for d in response.json()["deployments"]] == [created.json()["id"]]
    assert response.headers["etag"] != etag


def test_long_poll_times_out_with_304(live_server):
    _, device = _setup(live_server)
    with live_server.api(device["token"]) as agent:
        etag = agent.get("/device/v1/desired-state").headers["etag"]
        response = agent.get(
            "/device/v1/desired-state", params={"wait": 0.5}, headers={"If-None-Match": etag}
        )
    assert response.status_code == 304


def test_sigterm_answers_parked_polls_and_the_server_exits(tmp_path):
    url = create_database("sqlite", tmp_path)
    with running_server(tmp_path / "server", url) as server:
        _, device = _setup(server)
        result = {}
        with server.api(device["token"]) as agent:
            etag = agent.get("/device/v1/desired-state").headers["etag"]

            def poll():
                # The client gives up long before the 60 s wait: only a prompt answer passes.
                result["response"] = agent.get(
                    "/device/v1/desired-state",
                    params={"wait": 60},
                    headers={"If-None-Match": etag},
                    timeout=20,
                )

            waiter = threading.Thread(target=poll)
            waiter.start()
            time.sleep(0.5)  # the poll is parked
            server.process.send_signal(signal.SIGTERM)
            waiter.join(timeout=25)
            assert result["response"].status_code == 304
            # uvicorn re-raises the signal once it has shut down cleanly.
            assert server.process.wait(timeout=20) in (0, -signal.SIGTERM)
            assert "Application shutdown complete" in server.log()
