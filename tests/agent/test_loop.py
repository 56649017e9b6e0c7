"""The reconcile loop against the real registry and the real Podman engine; the server is faked.

The device API is `FakeServer` (an `httpx.MockTransport`, hence `_fake_server` in the names);
time is simulated, so backoff over an hour takes as long as the real pulls it makes.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from edgedock import wire
from edgedock.agent.engine import Engine
from edgedock.agent.loop import Agent, run_until_signalled
from edgedock.agent.plan import container_name
from edgedock.agent.server_client import ServerClient
from tests.agent.fixtures_agent import (
    BASE_URL,
    DEVICE_TOKEN,
    AgentKit,
    FakeServer,
    agent_kit,
    container_spec,
    desired,
    engine_view,
    files_containing,
)
from tests.support.engine import EngineInfo, run_podman

__all__ = ["agent_kit"]  # the fixture, imported so that pytest finds it here

pytestmark = pytest.mark.real_engine

UNAUTHORIZED = "unauthorized: authentication required"


class Killed(BaseException):
    """The agent process dying at a chosen point: nothing in the agent catches it."""


def run_for(agent: Agent, kit: AgentKit, seconds: float, *, max_steps: int = 2000) -> None:
    """Step the agent until ``seconds`` of simulated time have passed."""
    end = kit.clock.t + seconds
    for _ in range(max_steps):
        if kit.clock.t >= end:
            return
        agent.step()
    raise AssertionError(f"no progress in simulated time after {max_steps} steps")


def managed_rows(engine: EngineInfo) -> list[tuple[str, str, str]]:
    """(deployment, container, state) of every container the engine holds."""
    rows = []
    for doc in engine_view(engine):
        labels = doc["Config"]["Labels"] or {}  # type: ignore[index]
        rows.append(
            (
                labels.get("io.edgedock.deployment", ""),
                labels.get("io.edgedock.container", ""),
                doc["State"]["Status"],  # type: ignore[index]
            )
        )
    return sorted(rows)


def test_private_image_pulled_with_registry_auth_and_running_fake_server(
    agent_kit: AgentKit, engine: EngineInfo
) -> None:
    server = agent_kit.server
    server.state = desired(container_spec(agent_kit.image.image, env={"MODE": "prod"}))
    agent = agent_kit.new_agent()

    agent.step()

    assert managed_rows(engine) == [("d-0001", "c-web", "running")]
    assert server.count("/registry-auth") == 1
    assert server.statuses("d-0001", "c-web") == ["pulling", "running"]
    kinds = [e.kind for e in server.events()]
    assert kinds == ["pulled", "created", "started"]
    (doc,) = engine_view(engine)
    assert doc["Name"] == container_name("d-0001", "web")
    assert "MODE=prod" in doc["Config"]["Env"]  # type: ignore[index]
    reports_with_engine = [r.engine for r in server.reports if r.engine is not None]
    assert reports_with_engine and reports_with_engine[0].name

    run_for(agent, agent_kit, 600)  # converged: nothing more to do, nothing more to ask

    assert server.count("/registry-auth") == 1
    assert managed_rows(engine) == [("d-0001", "c-web", "running")]
    assert server.count("/status") == 2


def test_wrong_credentials_report_registry_error_and_back_off_fake_server(
    agent_kit: AgentKit, engine: EngineInfo
) -> None:
    server = agent_kit.server
    server.password = "wrong-password"
    server.state = desired(container_spec(agent_kit.image.image))
    agent = agent_kit.new_agent(rand=1.0)  # the shortest delays the jitter allows

    run_for(agent, agent_kit, 3600)

    latest = server.latest("d-0001", "c-web")
    assert latest is not None and latest.status == "error"
    assert latest.message is not None and UNAUTHORIZED in latest.message
    assert managed_rows(engine) == []
    # 2 s doubling to 300 s, at least 80 % of it: 1.6, 3.2, … 204.8, then 240 s each.
    attempts = server.count("/registry-auth")
    assert 8 <= attempts <= 23
    times = [t for t, _, p in server.requests if p.endswith("/registry-auth")]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 1.6 for gap in gaps)
    assert max(gaps) <= 300
    failures = [e for e in server.events() if e.kind == "pull_failed"]
    assert len(failures) == attempts and UNAUTHORIZED in failures[0].message
    # retries do not flip the status to pulling and back: one pulling, then the error stays
    statuses = server.statuses("d-0001", "c-web")
    assert statuses[:2] == ["pulling", "error"] and "pulling" not in statuses[2:]


def test_wrong_credentials_then_fixed_release_recovers_fake_server(
    agent_kit: AgentKit, engine: EngineInfo
) -> None:
    server = agent_kit.server
    server.password = "wrong-password"
    server.state = desired(container_spec(agent_kit.image.image, cid="c-web-r1"))
    agent = agent_kit.new_agent()
    run_for(agent, agent_kit, 1800)  # deep in backoff by now

    server.password = agent_kit.image.password
    server.state = desired(container_spec(agent_kit.image.image, cid="c-web-r2"))
    agent.step()  # a new desired state is acted on at once, not at the end of the old backoff

    assert managed_rows(engine) == [("d-0001", "c-web-r2", "running")]
    assert server.latest("d-0001", "c-web-r2").status == "running"  # type: ignore[union-attr]


def test_deleted_credentials_report_message_naming_them_fake_server(
    agent_kit: AgentKit, engine: EngineInfo
) -> None:
    server = agent_kit.server
    server.state = desired(container_spec(agent_kit.image.image))
    server.deleted[("d-0001", "c-web")] = "team-registry"
    agent = agent_kit.new_agent()

    agent.step()

    latest = server.latest("d-0001", "c-web")
    assert latest is not None and latest.status == "error"
    assert latest.message is not None
    assert "'team-registry'" in latest.message and "deleted" in latest.message
    assert managed_rows(engine) == []
    assert server.issued == []


def test_registry_auth_refused_reports_error_fake_server(
    agent_kit: AgentKit, engine: EngineInfo
) -> None:
    server = agent_kit.server
    server.state = desired(container_spec(agent_kit.image.image))
    real_handle = server.handle

    def refuse(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/registry-auth"):
            return httpx.Response(404, json={"error": {"code": "not_found", "message": "gone"}})
        return real_handle(request)

    client = ServerClient(BASE_URL, token=DEVICE_TOKEN, transport=httpx.MockTransport(refuse))
    agent = Agent(
        client,
        Engine(agent_kit.engine_url),
        clock=agent_kit.clock.monotonic,
        sleep=agent_kit.clock.sleep,
        now=agent_kit.clock.now,
    )
    agent.step()

    latest = server.latest("d-0001", "c-web")
    assert latest is not None and (latest.status, latest.message) == ("error", "gone")
    assert managed_rows(engine) == []


@pytest.mark.parametrize("crash_after", ["pull", "create", "start"])
def test_agent_killed_mid_deployment_converges_without_duplicates_fake_server(
    agent_kit: AgentKit, engine: EngineInfo, crash_after: str
) -> None:
    server = agent_kit.server
    web = container_spec(agent_kit.image.image)
    worker = container_spec(agent_kit.image.image, name="worker", cid="c-worker")
    server.state = desired(web, worker)

    class DyingEngine(Engine):
        """Dies after the first call of ``crash_after`` of the second container."""

        calls = 0

        def _maybe_die(self, method: str) -> None:
            if method == crash_after:
                DyingEngine.calls += 1
                if DyingEngine.calls == 2:
                    raise Killed

        def pull(self, image: str, *, x_registry_auth: str | None) -> None:
            super().pull(image, x_registry_auth=x_registry_auth)
            self._maybe_die("pull")

        def create(self, *args: object, **kwargs: object) -> str:
            created = super().create(*args, **kwargs)  # type: ignore[arg-type]
            self._maybe_die("create")
            return created

        def start(self, engine_id: str) -> None:
            super().start(engine_id)
            self._maybe_die("start")

    with pytest.raises(Killed):
        agent_kit.new_agent(DyingEngine(agent_kit.engine_url)).step()

    restarted = agent_kit.new_agent()
    restarted.step()
    run_for(restarted, agent_kit, 120)

    assert managed_rows(engine) == [
        ("d-0001", "c-web", "running"),
        ("d-0001", "c-worker", "running"),
    ]
    assert server.latest("d-0001", "c-worker").status == "running"  # type: ignore[union-attr]


def test_server_unreachable_backs_off_and_recovers_fake_server(
    agent_kit: AgentKit, engine: EngineInfo
) -> None:
    server = agent_kit.server
    server.state = desired(container_spec(agent_kit.image.image))
    agent = agent_kit.new_agent(rand=1.0)
    agent.step()
    assert managed_rows(engine) == [("d-0001", "c-web", "running")]

    server.down = True
    before = server.count("/desired-state")
    run_for(agent, agent_kit, 600)
    # 1 s doubling to 60 s, at least 80 % of it: at most 18 attempts in ten minutes
    assert server.count("/desired-state") - before <= 18
    assert managed_rows(engine) == [("d-0001", "c-web", "running")]  # left alone meanwhile

    server.down = False
    server.state = desired(container_spec(agent_kit.image.image), desired="stopped")
    run_for(agent, agent_kit, 120)

    assert managed_rows(engine) == [("d-0001", "c-web", "exited")]
    assert server.latest("d-0001", "c-web").status == "stopped"  # type: ignore[union-attr]


def test_agent_started_while_server_down_touches_nothing_fake_server(
    agent_kit: AgentKit, engine: EngineInfo
) -> None:
    server = agent_kit.server
    server.state = desired(container_spec(agent_kit.image.image))
    agent_kit.new_agent().step()
    server.down = True

    restarted = agent_kit.new_agent()
    run_for(restarted, agent_kit, 300)

    assert managed_rows(engine) == [("d-0001", "c-web", "running")]


def test_stop_start_upgrade_and_delete_follow_desired_state_fake_server(
    agent_kit: AgentKit, engine: EngineInfo
) -> None:
    server = agent_kit.server
    image = agent_kit.image.image
    agent = agent_kit.new_agent()
    server.state = desired(container_spec(image, cid="c-1"))
    agent.step()
    assert managed_rows(engine) == [("d-0001", "c-1", "running")]

    server.state = desired(container_spec(image, cid="c-1"), desired="stopped")
    agent.step()
    assert managed_rows(engine) == [("d-0001", "c-1", "exited")]

    server.state = desired(container_spec(image, cid="c-1"))
    agent.step()
    assert managed_rows(engine) == [("d-0001", "c-1", "running")]

    server.state = desired(container_spec(image, cid="c-2", env={"RELEASE": "2"}))
    agent.step()
    assert managed_rows(engine) == [("d-0001", "c-2", "running")]
    (doc,) = engine_view(engine)
    assert "RELEASE=2" in doc["Config"]["Env"]  # type: ignore[index]

    server.state = desired()
    agent.step()
    assert managed_rows(engine) == []
    # The upgrade's removal is on the timeline of the container that replaced it; the removal
    # for the deleted deployment is not reported (the server has no deployment to put it on).
    removed = [(e.container_id, e.message) for e in server.events() if e.kind == "removed"]
    assert removed == [("c-2", f"removed container {container_name('d-0001', 'web')} (upgrade)")]


def device_rows(engine: EngineInfo) -> list[tuple[str, str, str]]:
    """(device, deployment, state) of every container the engine holds."""
    rows = []
    for doc in engine_view(engine):
        labels = doc["Config"]["Labels"] or {}  # type: ignore[index]
        rows.append(
            (
                labels.get(wire.LABEL_DEVICE, ""),
                labels.get(wire.LABEL_DEPLOYMENT, ""),
                doc["State"]["Status"],  # type: ignore[index]
            )
        )
    return sorted(rows)


def test_two_devices_sharing_one_engine_leave_each_other_alone_fake_server(
    agent_kit: AgentKit, engine: EngineInfo
) -> None:
    image = agent_kit.image.image
    server_1, server_2 = agent_kit.server, agent_kit.another_server("dev-2")
    server_1.state = desired(container_spec(image), dep="d-0001", device="dev-1")
    server_2.state = desired(container_spec(image), dep="d-0002", device="dev-2")
    agent_1, agent_2 = agent_kit.new_agent(), agent_kit.new_agent(server=server_2)

    def both_step(passes: int = 3) -> None:
        for _ in range(passes):
            agent_1.step()
            agent_2.step()

    both_step()
    assert device_rows(engine) == [
        ("dev-1", "d-0001", "running"),
        ("dev-2", "d-0002", "running"),
    ]
    assert server_1.latest("d-0001", "c-web").status == "running"  # type: ignore[union-attr]
    assert server_2.latest("d-0002", "c-web").status == "running"  # type: ignore[union-attr]

    server_1.state = desired(container_spec(image), dep="d-0001", device="dev-1", desired="stopped")
    both_step()
    assert device_rows(engine) == [
        ("dev-1", "d-0001", "exited"),
        ("dev-2", "d-0002", "running"),
    ]

    server_2.state = desired(device="dev-2")  # every deployment of dev-2 deleted
    both_step()
    assert device_rows(engine) == [("dev-1", "d-0001", "exited")]

    server_1.state = desired(device="dev-1")
    both_step()
    assert device_rows(engine) == []
    # neither device heard of the other's containers
    assert {c.deployment_id for r in server_1.reports for c in r.containers} == {"d-0001"}
    assert {c.deployment_id for r in server_2.reports for c in r.containers} == {"d-0002"}
    assert {e.deployment_id for e in server_1.events()} == {"d-0001"}
    assert {e.deployment_id for e in server_2.events()} == {"d-0002"}


def test_container_without_device_label_is_adopted_fake_server(
    agent_kit: AgentKit, engine: EngineInfo
) -> None:
    server = agent_kit.server
    server.state = desired(container_spec(agent_kit.image.image))
    agent_kit.new_agent().step()  # pulls the image and shows the labels an agent puts on
    (doc,) = engine_view(engine)
    labels: dict[str, str] = dict(doc["Config"]["Labels"])  # type: ignore[index]
    assert labels.pop(wire.LABEL_DEVICE) == "dev-1"
    # The same container as an agent from before the device label would have made it.
    run_podman(engine.env, "rm", "--force", "--time", "0", str(doc["Id"]))
    label_args = [arg for item in labels.items() for arg in ("--label", "=".join(item))]
    name = container_name("d-0001", "web")
    legacy_id = run_podman(
        engine.env, "create", "--name", name, *label_args, agent_kit.image.image
    ).strip()

    restarted = agent_kit.new_agent()
    restarted.step()
    run_for(restarted, agent_kit, 120)

    (doc,) = engine_view(engine)
    assert (doc["Id"], doc["State"]["Status"]) == (legacy_id, "running")  # type: ignore[index]
    assert server.latest("d-0001", "c-web").status == "running"  # type: ignore[union-attr]


def test_planted_password_found_nowhere_fake_server(
    agent_kit: AgentKit,
    engine: EngineInfo,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # anything the agent wrote by a relative path would land here
    caplog.set_level(logging.DEBUG)
    password = agent_kit.image.password
    server = agent_kit.server
    agent = agent_kit.new_agent()
    server.state = desired(container_spec(agent_kit.image.image, cid="c-1"))
    agent.step()
    server.password = f"{password}-wrong"
    server.state = desired(container_spec(agent_kit.image.image, cid="c-2"))
    run_for(agent, agent_kit, 60)
    server.password = password
    server.deleted[("d-0001", "c-3")] = "team-registry"
    server.state = desired(container_spec(agent_kit.image.image, cid="c-3"))
    agent.step()

    issued = server.issued
    assert len(issued) >= 3
    secrets = [password, *issued]
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "pulling" in logged  # the log was captured at all
    for secret in secrets:
        assert secret not in logged
        for report in server.reports:
            assert secret not in report.model_dump_json()
    documents = engine_view(engine)
    assert documents  # c-1 still runs: its configuration is inspected below
    for secret in secrets:
        assert all(secret not in str(doc) for doc in documents)
    assert list(tmp_path.iterdir()) == []
    # Podman's own store, run state and (empty) auth file keep nothing of the pulls either.
    assert files_containing(engine.log_path.parent, password.encode()) == []


def test_sigterm_stops_agent_in_long_poll_fake_server(agent_kit: AgentKit) -> None:
    server = agent_kit.server
    real_handle = server.handle
    timers: list[threading.Timer] = []

    def really_wait(request: httpx.Request) -> httpx.Response:
        if request.headers.get("If-None-Match"):  # the agent now waits in its long poll
            timers.append(threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)))
            timers[-1].start()
            time.sleep(float(request.url.params["wait"]))
        return real_handle(request)

    client = ServerClient(BASE_URL, token=DEVICE_TOKEN, transport=httpx.MockTransport(really_wait))
    agent = Agent(client, Engine(agent_kit.engine_url), poll_wait=30)
    before = signal.getsignal(signal.SIGTERM)
    started = time.monotonic()
    try:
        run_until_signalled(agent)
    finally:
        for timer in timers:
            timer.cancel()
        client.close()
    assert len(timers) == 1
    assert time.monotonic() - started < 5  # not the 30 s of the long poll
    assert signal.getsignal(signal.SIGTERM) == before


def test_stop_from_another_thread_ends_run_fake_server(agent_kit: AgentKit) -> None:
    agent = agent_kit.new_agent()
    thread = threading.Thread(target=agent.run)
    thread.start()
    agent.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_unauthorized_device_token_backs_off_fake_server(agent_kit: AgentKit) -> None:
    server: FakeServer = agent_kit.server
    client = ServerClient(BASE_URL, token="wrong", transport=server.transport())
    agent = Agent(
        client,
        Engine(agent_kit.engine_url),
        clock=agent_kit.clock.monotonic,
        sleep=agent_kit.clock.sleep,
        now=agent_kit.clock.now,
        rand=lambda: 1.0,
    )
    end = agent_kit.clock.t + 600
    while agent_kit.clock.t < end:
        agent.step()
    assert server.count("/desired-state") <= 18
    client.close()


def test_engine_unavailable_backs_off_and_touches_nothing_fake_server(
    agent_kit: AgentKit, tmp_path: Path
) -> None:
    server = agent_kit.server
    server.state = desired(container_spec(agent_kit.image.image))
    missing = Engine(f"unix://{tmp_path / 'no-engine.sock'}")
    agent = agent_kit.new_agent(missing, rand=1.0)

    run_for(agent, agent_kit, 600)

    # 1 s doubling to 60 s: at most 18 passes in ten minutes, and no registry auth asked for
    assert server.count("/desired-state") <= 19
    assert server.count("/registry-auth") == 0


def test_unexpected_error_is_logged_and_loop_goes_on_fake_server(
    agent_kit: AgentKit, engine: EngineInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edgedock.agent import plan as planning

    server = agent_kit.server
    server.state = desired(container_spec(agent_kit.image.image))
    real_plan = planning.plan
    calls: list[int] = []

    def flaky_plan(*args: object) -> list[planning.Action]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return real_plan(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(planning, "plan", flaky_plan)
    agent = agent_kit.new_agent()

    def sleep_then_stop(seconds: float) -> None:
        agent_kit.clock.sleep(seconds)
        if managed_rows(engine):
            agent.stop()

    agent._sleep = sleep_then_stop
    server_wait = server._desired_state

    def poll_then_stop(request: httpx.Request) -> httpx.Response:
        if managed_rows(engine):
            agent.stop()
        return server_wait(request)

    server._desired_state = poll_then_stop  # type: ignore[method-assign]
    agent.run()

    assert managed_rows(engine) == [("d-0001", "c-web", "running")]
    assert len(calls) >= 2
