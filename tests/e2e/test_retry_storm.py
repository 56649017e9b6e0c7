"""A retry storm, for real: a registry refusing every pull, and an agent retrying fast.

`edgedock agent` runs as a process with its pull backoff made short by its own options
(`--retry-after 0.2 --retry-at-most 0.5`), against a live server (SQLite and PostgreSQL), the
Debian docker-registry refusing the wrong password, and Podman. However many times it retried,
the deployment's timeline holds one `pull failed` entry with the count, the audit trail one
`pull.failed` record with the same count, and every registry auth issued is audited one by one.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.agent_support import Operator, clear_engine, wait_for
from tests.support.engine import EngineInfo
from tests.support.fixtures import (
    PrivateImage,
    engine,
    private_image,
    registry,
    registry_credentials,
)
from tests.support.live_server import EDGEDOCK, LiveServer

__all__ = ["engine", "private_image", "registry", "registry_credentials"]  # fixtures, for pytest

pytestmark = pytest.mark.real_engine

RETRIES = 25  # the storm lasts until the agent has retried this often (about 15 s)


@pytest.fixture
def empty_engine(engine: EngineInfo) -> Iterator[EngineInfo]:
    clear_engine(engine)
    yield engine
    clear_engine(engine)


def _failed_entries(operator: Operator, deployment: dict[str, Any]) -> list[dict[str, Any]]:
    events = operator.call("GET", f"/deployments/{deployment['id']}/events", 200)["items"]
    return [e for e in events if e["kind"] == "pull_failed"]


def _stormed(operator: Operator, deployment: dict[str, Any]) -> list[dict[str, Any]] | None:
    entries = _failed_entries(operator, deployment)
    return entries if entries and entries[0]["count"] >= RETRIES else None


def test_a_retry_storm_leaves_one_entry_and_one_record_with_its_count(
    live_server: LiveServer, empty_engine: EngineInfo, private_image: PrivateImage, tmp_path: Path
) -> None:
    operator = Operator(live_server)
    wrong = operator.credentials(private_image.username, f"{private_image.password}-wrong")
    release = operator.release(private_image.image, wrong["id"])
    device = operator.device()
    deployment = operator.deploy(release, device)
    token_file = tmp_path / "token"
    token_file.write_text(device["token"] + "\n")
    token_file.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGEDOCK_", "DOCKER_"))}
    command = [
        EDGEDOCK, "agent", "--server", live_server.url, "--token-file", str(token_file),
        "--engine", empty_engine.url, "--poll-wait", "1",
        "--retry-after", "0.2", "--retry-at-most", "0.5",
    ]  # fmt: skip
    log_path = tmp_path / "agent.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    try:
        wait_for(lambda: _stormed(operator, deployment), timeout=120, what="the retry storm")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log_path.read_text()[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    (entry,) = _failed_entries(operator, deployment)
    count = entry["count"]
    assert count >= RETRIES
    assert "unauthorized: authentication required" in entry["message"]
    assert entry["last_at"] > entry["at"]
    failed = operator.audit(resource_id=deployment["id"], action="pull.failed")
    assert [(r["count"], r["credentials_id"]) for r in failed] == [(count, wrong["id"])]
    issued = operator.audit(resource_id=deployment["id"], action="registry_auth.issued")
    # One auth per attempt, each its own record; the last may have been cut short by SIGTERM.
    assert count <= len(issued) <= count + 1
    assert all(r["count"] == 1 for r in issued)
    assert operator.audit(credentials_id=wrong["id"], action="pull.succeeded") == []
    detail = operator.call("GET", f"/image-credentials/{wrong['id']}", 200)
    assert detail["pulled_by"] == [], "no device pulled with credentials that never worked"
