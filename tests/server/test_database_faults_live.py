"""A real server on PostgreSQL behind a TCP proxy that cuts, black-holes and drops its traffic.

What must hold through each fault: requests answer 503 `database_unavailable` with
`Retry-After` before the client's own 30 s time-out (never a hang, never a 500), the answer
keeps the connection usable, the log says it once per request without a traceback, nothing is
half-written, `/readyz` fails while `/healthz` lives, and requests succeed again once the
database is back. The server's database deadline is set to 1 s so that the file stays short.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests import factories
from tests.conftest import BACKENDS, create_database, drop_database
from tests.support.live_server import LiveServer, running_server, server_env
from tests.support.tcp_proxy import Mode, TcpProxy, tcp_proxy

pytestmark = pytest.mark.skipif(
    "postgresql" not in BACKENDS,
    reason="the proxy stands between the server and PostgreSQL",
)

CLIENT_TIMEOUT = 30.0  # what a patient client waits; every answer must come before it


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, TcpProxy]]:
    folder = tmp_path_factory.mktemp("faults")
    url = create_database("postgresql", folder)
    host_and_db = url.rsplit("@", 1)[1]  # 127.0.0.1:5432/<name>
    address, name = host_and_db.split("/", 1)
    host, port = address.split(":")
    try:
        with tcp_proxy(host, int(port)) as proxy:
            proxied_url = f"postgresql://postgres@127.0.0.1:{proxy.port}/{name}"
            env = {**server_env(folder, proxied_url), "EDGEDOCK_DATABASE_TIMEOUT": "1"}
            with running_server(folder / "server", proxied_url, env=env) as server:
                yield server, proxy
    finally:
        drop_database(url)


@pytest.fixture
def server(proxied: tuple[LiveServer, TcpProxy]) -> Iterator[LiveServer]:
    live, proxy = proxied
    yield live
    proxy.set_mode("pass")
    _wait_until_ready(live)


@pytest.fixture
def proxy(proxied: tuple[LiveServer, TcpProxy]) -> TcpProxy:
    return proxied[1]


def _wait_until_ready(server: LiveServer) -> None:
    """Recovery: bounded by a count of tries, not asserted on a duration."""
    with httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT) as client:
        for _ in range(60):
            if client.get("/readyz").status_code == 200:
                return
            time.sleep(0.5)
    raise AssertionError(f"the server did not become ready again:\n{server.log()[-3000:]}")


def _release_body() -> dict[str, object]:
    return {
        "version": "1.0.0",
        "containers": [factories.container(n, "busybox:1.36") for n in ("a", "b", "c")],
    }


def _local_address(response: httpx.Response) -> object:
    """The client end of the connection that carried ``response``."""
    return response.extensions["network_stream"].get_extra_info("client_addr")


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "database_unavailable"
    assert int(response.headers["retry-after"]) > 0
    assert response.headers.get("connection", "").lower() != "close"


@pytest.mark.parametrize("mode", ["cut", "blackhole", "drop"])
def test_api_answers_503_before_the_client_gives_up_database_fault(
    server: LiveServer, proxy: TcpProxy, mode: Mode
) -> None:
    name = f"faulty-{mode}-{uuid.uuid4().hex[:6]}"
    with server.api() as api:
        app = api.post("/api/v1/applications", json={"name": name}).json()
        proxy.set_mode(mode)
        # Both on one keep-alive connection: the first 503 must leave it usable.
        created = api.post(f"/api/v1/applications/{app['id']}/releases", json=_release_body())
        first_connection = _local_address(created)
        listed = api.get("/api/v1/devices")
        assert _local_address(listed) == first_connection, "the 503 closed the connection"
    _assert_unavailable(created)
    _assert_unavailable(listed)

    proxy.set_mode("pass")
    _wait_until_ready(server)
    with server.api() as api:
        releases = api.get(f"/api/v1/applications/{app['id']}/releases")
    assert releases.status_code == 200, "requests succeed again once the database is back"
    assert releases.json()["items"] == [], "the refused release left nothing behind"


def test_readyz_fails_while_healthz_lives_database_cut(server: LiveServer, proxy: TcpProxy) -> None:
    proxy.set_mode("cut")
    with httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT) as client:
        ready = client.get("/readyz")
        alive = client.get("/healthz")
    _assert_unavailable(ready)
    assert alive.status_code == 200 and alive.json() == {"status": "ok"}


def test_readyz_fails_quickly_database_blackholed(server: LiveServer, proxy: TcpProxy) -> None:
    proxy.set_mode("blackhole")
    with httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT) as client:
        ready = client.get("/readyz")
    _assert_unavailable(ready)


def test_device_poll_answers_503_database_dropping(server: LiveServer, proxy: TcpProxy) -> None:
    with server.api() as api:
        device = api.post("/api/v1/devices", json={"name": f"gw-{uuid.uuid4().hex[:6]}"}).json()
    proxy.set_mode("drop")
    with server.api(device["token"]) as agent:
        poll = agent.get("/device/v1/desired-state", params={"wait": 5})
    _assert_unavailable(poll)


def test_outage_is_logged_once_per_request_without_traceback(
    server: LiveServer, proxy: TcpProxy
) -> None:
    marker = f"/api/v1/devices/{uuid.uuid4()}"
    proxy.set_mode("cut")
    with server.api() as api:
        response = api.get(marker)
    _assert_unavailable(response)
    proxy.set_mode("pass")
    _wait_until_ready(server)
    lines = [line for line in server.log().splitlines() if marker in line]
    unavailable = [line for line in lines if "database_unavailable" in line]
    assert len(unavailable) == 1, lines
    assert "Traceback" not in server.log()
    assert "internal_error" not in server.log()


def test_a_parked_poll_outlives_an_outage_and_sees_the_change_after_it_database_cut(
    server: LiveServer, proxy: TcpProxy
) -> None:
    with server.api() as api:
        app = api.post("/api/v1/applications", json={"name": f"parked-{uuid.uuid4().hex[:6]}"})
        release = api.post(
            f"/api/v1/applications/{app.json()['id']}/releases", json=_release_body()
        ).json()
        device = api.post("/api/v1/devices", json={"name": f"gw-{uuid.uuid4().hex[:6]}"}).json()
    result: dict[str, httpx.Response] = {}
    with server.api(device["token"]) as agent:
        etag = agent.get("/device/v1/desired-state").headers["etag"]

        def poll() -> None:
            result["response"] = agent.get(
                "/device/v1/desired-state",
                params={"wait": 60},
                headers={"If-None-Match": etag},
                timeout=55,
            )

        waiter = threading.Thread(target=poll)
        waiter.start()
        time.sleep(0.5)  # parked: a warm poll waits without the database
        proxy.set_mode("cut")  # every database connection, the listener's included, is cut
        time.sleep(1.5)
        proxy.set_mode("pass")
        _wait_until_ready(server)
        with server.api() as api:
            created = api.post(
                "/api/v1/deployments", json={"release_id": release["id"], "device_id": device["id"]}
            )
        assert created.status_code == 201, created.text
        waiter.join(timeout=58)
    response = result["response"]
    assert response.status_code == 200, response.text
    assert [d["id"] for d in response.json()["deployments"]] == [created.json()["id"]]
