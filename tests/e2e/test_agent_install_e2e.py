"""Issue 12, items 1 and 6 for real: a device installs the agent from the server, and an agent
pointed at the wrong engine socket says so once, then recovers.

A live `edgedock serve`, the Debian docker-registry with htpasswd auth and Podman's Docker API
service, as in test_agent_e2e. The install goes into a fresh venv made here: the wheel only from
the running server's URL, the agent extra's dependencies from the package index (a wheel
cannot bring its dependencies along), run from a folder outside the checkout with no
PYTHONPATH, and the agent that runs is the venv's own copy of edgedock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import create_database
from tests.e2e.agent_support import Operator, clear_engine, managed, wait_for
from tests.support.engine import EngineInfo
from tests.support.fixtures import (
    PrivateImage,
    engine,
    private_image,
    registry,
    registry_credentials,
)
from tests.support.live_server import EDGEDOCK, LiveServer, running_server

__all__ = ["engine", "private_image", "registry", "registry_credentials"]  # fixtures, for pytest

pytestmark = pytest.mark.real_engine

CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("agent-install")
    with running_server(folder / "server", create_database("sqlite", folder)) as server:
        yield server


@pytest.fixture
def operator(live: LiveServer) -> Operator:
    return Operator(live)


@pytest.fixture(autouse=True)
def empty_engine(engine: EngineInfo) -> Iterator[None]:
    clear_engine(engine)
    yield
    clear_engine(engine)


def _device_env() -> dict[str, str]:
    """The environment of a person on the device: none of the test run's Python or edgedock."""
    drop = ("EDGEDOCK_", "DOCKER_", "PYTHON", "VIRTUAL_ENV", "COV_", "PYTEST")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def _run(args: list[str], *, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=_device_env(), capture_output=True, text=True, timeout=timeout
    )


def _wheel_url(live: LiveServer) -> str:
    index = httpx.get(f"{live.url}/agent/", headers={"Accept": "text/html"}, timeout=30)
    assert index.status_code == 200
    (name,) = {
        part.split('"')[0].split("#")[0]
        for part in index.text.split('href="')[1:]
        if part.split('"')[0].split("#")[0].endswith(".whl")
    }
    return f"{live.url}/agent/{name}"


def _start_agent(
    command: str, live: LiveServer, token_file: Path, engine_url: str, log_path: Path
) -> subprocess.Popen[bytes]:
    args = [
        command, "agent", "--server", live.url, "--token-file", str(token_file),
        "--engine", engine_url, "--poll-wait", "2", "--log-level", "DEBUG",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        return subprocess.Popen(
            args, cwd=token_file.parent, env=_device_env(), stdout=log, stderr=log
        )


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _device_with_private_deployment(
    operator: Operator, image: PrivateImage, home: Path
) -> tuple[dict[str, object], Path]:
    creds = operator.credentials(image.username, image.password)
    release = operator.release(image.image, creds["id"])
    device = operator.device()
    deployment = operator.deploy(release, device)
    home.mkdir()
    token_file = home / "device-token"
    token_file.write_text(f"{device['token']}\n")
    token_file.chmod(0o600)
    return deployment, token_file


def test_agent_wheel_from_the_server_installs_in_a_fresh_venv_and_pulls_a_private_image_e2e(
    operator: Operator,
    live: LiveServer,
    engine: EngineInfo,
    private_image: PrivateImage,
    tmp_path: Path,
) -> None:
    device_home = tmp_path / "device"
    deployment, token_file = _device_with_private_deployment(operator, private_image, device_home)
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    url = _wheel_url(live)

    installed = _run(
        [str(venv / "bin" / "pip"), "install", "--quiet", f"edgedock[agent] @ {url}"],
        cwd=tmp_path,
        timeout=600,
    )

    assert installed.returncode == 0, installed.stderr
    where = _run(
        [
            str(venv / "bin" / "python"), "-c",
            "import json, edgedock, importlib.metadata as m, importlib.util as u;"
            "d = m.distribution('edgedock');"
            "print(json.dumps([edgedock.__file__, d.read_text('direct_url.json'),"
            " u.find_spec('fastapi') is None, u.find_spec('docker') is not None]))",
        ],
        cwd=tmp_path,
    )  # fmt: skip
    assert where.returncode == 0, where.stderr
    module_file, direct_url, no_server_code, has_docker_sdk = json.loads(where.stdout)
    assert Path(module_file).is_relative_to(venv) and not Path(module_file).is_relative_to(CHECKOUT)
    assert json.loads(direct_url)["url"] == url, "pip took the wheel from the server's URL"
    assert no_server_code and has_docker_sdk

    unit = _run(
        [str(venv / "bin" / "edgedock"), "agent", "install-service", "--server", live.url,
         "--token-file", str(token_file), "--unit", "-"],
        cwd=tmp_path,
    )  # fmt: skip
    assert unit.returncode == 0, unit.stderr
    assert f"ExecStart={venv / 'bin' / 'edgedock'} agent --server {live.url} " in unit.stdout

    log_path = tmp_path / "agent.log"
    process = _start_agent(str(venv / "bin" / "edgedock"), live, token_file, engine.url, log_path)
    try:
        wait_for(lambda: operator.status_is(deployment, "running"), timeout=120, what="running")
    finally:
        code = _stop(process)
    output = log_path.read_text()
    assert code == 0, output
    assert "agent stopped" in output and f"pulling {private_image.image}" in output
    assert "plain HTTP" not in output, "loopback HTTP is no reason to warn"
    assert private_image.password not in output
    assert [row[2] for row in managed(engine)] == ["running"]


def test_agent_on_a_wrong_engine_socket_says_so_once_then_recovers_e2e(
    operator: Operator,
    live: LiveServer,
    engine: EngineInfo,
    private_image: PrivateImage,
    tmp_path: Path,
) -> None:
    deployment, token_file = _device_with_private_deployment(
        operator, private_image, tmp_path / "device"
    )
    wrong = tmp_path / "engine.sock"  # nothing there yet
    wrong_url = f"unix://{wrong}"
    log_path = tmp_path / "agent.log"
    process = _start_agent(EDGEDOCK, live, token_file, wrong_url, log_path)
    try:
        wait_for(
            lambda: log_path.read_text().count("engine still unavailable") >= 2,
            what="two retries on the missing socket",
        )
        # The engine appears at the path the agent was given, as when Docker starts late.
        wrong.symlink_to(engine.url.removeprefix("unix://"))
        wait_for(lambda: operator.status_is(deployment, "running"), timeout=120, what="running")
    finally:
        code = _stop(process)

    output = log_path.read_text()
    assert code == 0, output
    errors = [line for line in output.splitlines() if " ERROR " in line]
    assert len(errors) == 1, errors
    (error,) = errors
    assert f"the engine at {wrong_url} cannot be reached (no such socket)" in error
    assert "--engine" in error and "unix:///run/podman/podman.sock" in error
    assert "Connection aborted" not in output and "Traceback" not in output
    assert output.count("the engine answers again") == 1
