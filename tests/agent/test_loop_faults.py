"""The reconcile loop when the server fails it: outages are not pull failures, a refused token is
said once and retried slowly, and a deployment deleted during its pull gets no container.

Real registry and Podman engine; the device API is `FakeServer` (hence `_fake_server`), because
a real server cannot be made to fail only its registry-auth endpoint on cue.
"""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from edgedock import wire
from edgedock.agent.loop import Agent
from tests.agent.fixtures_agent import DEVICE_TOKEN, AgentKit, agent_kit, container_spec, desired
from tests.agent.test_loop import managed_rows, run_for
from tests.support.engine import EngineInfo

__all__ = ["agent_kit"]  # the fixture, imported so that pytest finds it here

pytestmark = pytest.mark.real_engine


def _unavailable() -> httpx.Response:
    body = {"error": {"code": "database_unavailable", "message": "try again shortly"}}
    return httpx.Response(503, json=body, headers={"Retry-After": "5"})


@pytest.mark.parametrize("failure", ["reset", "503"])
def test_registry_auth_failing_with_the_server_is_no_pull_failure_fake_server(
    agent_kit: AgentKit, engine: EngineInfo, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    server = agent_kit.server
    server.state = desired(container_spec(agent_kit.image.image))
    server.auth_failure = (
        httpx.ReadError("connection reset by peer") if failure == "reset" else _unavailable()
    )
    agent = agent_kit.new_agent(rand=1.0)
    caplog.set_level(logging.WARNING, logger="edgedock.agent")

    run_for(agent, agent_kit, 300)

    assert managed_rows(engine) == []
    kinds = [e.kind for e in server.events()]
    assert "pull_failed" not in kinds, "the container's pull did not fail: the server did"
    assert "error" not in server.statuses("d-0001", "c-web")
    assert any("server unavailable: POST /registry-auth" in r.message for r in caplog.records)
    # Retried on the server's backoff (1 s doubling, after each long poll), not every pass.
    assert 2 <= server.count("/registry-auth") <= 10

    server.auth_failure = None
    run_for(agent, agent_kit, 120)
    assert managed_rows(engine) == [("d-0001", "c-web", "running")]


def test_deployment_deleted_during_its_pull_gets_no_container_fake_server(
    agent_kit: AgentKit, engine: EngineInfo
) -> None:
    server = agent_kit.server
    server.state = desired(container_spec(agent_kit.image.image))

    def delete_the_deployment() -> None:
        server.state = wire.DesiredState(device_id="dev-1", deployments=[])

    server.after_auth = delete_the_deployment
    agent = agent_kit.new_agent()

    agent.step()

    assert server.count("/registry-auth") == 1, "the pull did happen"
    assert managed_rows(engine) == [], "no container for a deployment deleted meanwhile"
    assert "created" not in [e.kind for e in server.events()]
    assert agent.desired == server.state


def test_refused_token_is_said_once_and_retried_slowly_fake_server(
    agent_kit: AgentKit, engine: EngineInfo, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = agent_kit.server
    server.state = desired(container_spec(agent_kit.image.image))
    token_file = tmp_path / "device.token"
    token_file.write_text("edt_revoked\n")
    token_file.chmod(0o600)  # the agent refuses a token file others can read
    agent: Agent = agent_kit.new_agent(token_file=token_file)
    caplog.set_level(logging.INFO, logger="edgedock.agent")

    run_for(agent, agent_kit, 600)

    # About once a minute, not the outage backoff's 18 tries in ten minutes.
    assert server.count("/desired-state") <= 11
    refused = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(refused) == 1, [r.message for r in refused]
    assert str(token_file) in refused[0].message and "revoked" in refused[0].message
    assert managed_rows(engine) == []

    token_file.write_text(DEVICE_TOKEN + "\n")  # an operator re-issued it
    run_for(agent, agent_kit, 120)
    assert managed_rows(engine) == [("d-0001", "c-web", "running")]
    assert any("accepts this device's token again" in r.message for r in caplog.records)
