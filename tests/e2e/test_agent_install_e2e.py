"""Issue 12, items 1 and 6 for real: a device installs the agent from the server, and an agent
pointed at the wrong engine socket says so once, then recovers.

A live `edgedock serve`, the Debian docker-registry with htpasswd auth, Podman's Docker API
service and the Docker Engine, as in test_agent_e2e and test_docker_engine. The install goes into a fresh venv made here: the wheel only from
the running server's URL, the agent extra's dependencies from the package index (a wheel
cannot bring its dependencies along), run from a folder outside the checkout with no
PYTHONPATH, and the agent that runs is the venv's own copy of edgedock.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import create_database
from tests.e2e.agent_support import Operator, clear_engine, managed, wait_for
from tests.support.docker_engine import DockerEngineInfo, run_docker
from tests.support.engine import EngineInfo
from tests.support.fixtures import (
    PrivateImage,
    docker_engine,
    docker_private_image,
    engine,
    private_image,
    registry,
    registry_credentials,
)
from tests.support.live_server import EDGEDOCK, LiveServer, running_server
from tests.web.conftest import HTML, csrf_of

__all__ = [  # fixtures, for pytest
    "docker_engine",
    "docker_private_image",
    "engine",
    "private_image",
    "registry",
    "registry_credentials",
]

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


@dataclass(frozen=True)
class DeviceVenv:
    path: Path
    wheel_url: str

    @property
    def edgedock(self) -> str:
        return str(self.path / "bin" / "edgedock")


@pytest.fixture(scope="module")
def device_venv(live: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> DeviceVenv:
    """A fresh venv with the agent installed as the device page says: the wheel by its URL."""
    folder = tmp_path_factory.mktemp("device-venv")
    venv = folder / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], cwd=folder)
    assert made.returncode == 0, made.stderr
    url = _wheel_url(live)
    installed = _run(
        [str(venv / "bin" / "pip"), "install", "--quiet", f"edgedock[agent] @ {url}"],
        cwd=folder,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr
    return DeviceVenv(venv, url)


def _run_installed_agent_until_running(
    device_venv: DeviceVenv,
    operator: Operator,
    live: LiveServer,
    engine_url: str,
    image: PrivateImage,
    tmp_path: Path,
) -> str:
    deployment, token_file = _device_with_private_deployment(operator, image, tmp_path / "device")
    log_path = tmp_path / "agent.log"
    process = _start_agent(device_venv.edgedock, live, token_file, engine_url, log_path)
    try:
        wait_for(lambda: operator.status_is(deployment, "running"), timeout=120, what="running")
    finally:
        code = _stop(process)
    output = log_path.read_text()
    assert code == 0, output
    assert "agent stopped" in output and f"pulling {image.image}" in output
    assert "plain HTTP" not in output, "loopback HTTP is no reason to warn"
    assert image.password not in output
    return output


def test_agent_wheel_from_the_server_installs_in_a_fresh_venv_e2e(
    device_venv: DeviceVenv, live: LiveServer, tmp_path: Path
) -> None:
    where = _run(
        [
            str(device_venv.path / "bin" / "python"), "-c",
            "import json, edgedock, importlib.metadata as m, importlib.util as u;"
            "d = m.distribution('edgedock');"
            "print(json.dumps([edgedock.__file__, d.read_text('direct_url.json'),"
            " u.find_spec('fastapi') is None, u.find_spec('docker') is not None]))",
        ],
        cwd=tmp_path,
    )  # fmt: skip
    assert where.returncode == 0, where.stderr
    module_file, direct_url, no_server_code, has_docker_sdk = json.loads(where.stdout)
    assert Path(module_file).is_relative_to(device_venv.path)
    assert not Path(module_file).is_relative_to(CHECKOUT)
    assert json.loads(direct_url)["url"] == device_venv.wheel_url, "the wheel came from the server"
    assert no_server_code and has_docker_sdk

    unit = _run(
        [device_venv.edgedock, "agent", "install-service", "--server", live.url,
         "--token-file", "/etc/edgedock/device-token", "--unit", "-"],
        cwd=tmp_path,
    )  # fmt: skip
    assert unit.returncode == 0, unit.stderr
    assert f"ExecStart={device_venv.edgedock} agent --server {live.url} " in unit.stdout


def test_installed_agent_pulls_a_private_image_on_podman_e2e(
    device_venv: DeviceVenv,
    operator: Operator,
    live: LiveServer,
    engine: EngineInfo,
    private_image: PrivateImage,
    tmp_path: Path,
) -> None:
    _run_installed_agent_until_running(
        device_venv, operator, live, engine.url, private_image, tmp_path
    )
    assert [row[2] for row in managed(engine)] == ["running"]


def test_installed_agent_pulls_a_private_image_on_the_docker_engine_e2e(
    device_venv: DeviceVenv,
    operator: Operator,
    live: LiveServer,
    docker_engine: DockerEngineInfo,
    docker_private_image: PrivateImage,
    tmp_path: Path,
) -> None:
    _run_installed_agent_until_running(
        device_venv, operator, live, docker_engine.url, docker_private_image, tmp_path
    )
    running = run_docker(
        docker_engine.env, "ps", "--filter", "label=io.edgedock.managed", "--format", "{{.State}}"
    )
    assert "running" in running.split()


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


def _device_page_block(live: LiveServer, device_id: str) -> str:
    """The install block of the device page, read as a signed-in person sees it."""
    with httpx.Client(base_url=live.url, headers=HTML, timeout=30) as browser:
        form = browser.get("/sign-in")
        signed_in = browser.post(
            "/sign-in",
            data={"csrf_token": csrf_of(form.text), "token": live.admin_token, "next": "/"},
        )
        assert signed_in.status_code == 303
        page = browser.get(f"/devices/{device_id}").text
    match = re.search(r'id="agent-install"><code>(.*?)</code>', page, re.S)
    assert match, "the device page shows no install block"
    return html.unescape(match.group(1))


def _tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], capture_output=True, text=True, timeout=30, check=True
    ).stdout


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_device_page_block_pasted_into_a_shell_installs_and_takes_the_token_last_e2e(
    operator: Operator, live: LiveServer, tmp_path: Path
) -> None:
    """The block pasted at once into bash in a terminal (tmux), then the token and Ctrl-D.

    Stand-ins, and only these: `sudo` runs its command as the test's own user (root), and
    `systemctl` records its arguments; the block's /opt/edgedock and /etc/edgedock are moved
    under tmp_path and the unit is written there (`--unit`), so nothing of this machine changes.
    """
    device = operator.device()
    block = _device_page_block(live, device["id"])
    block = block.replace("/opt/edgedock", f"{tmp_path}/opt").replace(
        "/etc/edgedock", f"{tmp_path}/etc"
    )
    unit = tmp_path / "edgedock-agent.service"
    block = block.replace(
        " --engine unix:///var/run/docker.sock",
        f" --engine unix:///var/run/docker.sock --unit {unit}",
    )
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    (shims / "systemctl").write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/systemctl.log\n')
    for shim in shims.iterdir():
        shim.chmod(0o755)
    env = {**_device_env(), "PATH": f"{shims}:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    (tmp_path / "block.txt").write_text(block + "\n")
    session = f"edgedock-paste-{os.getpid()}"
    _tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "50", "-c", str(tmp_path),
          "env", "-i", *[f"{k}={v}" for k, v in env.items()], "bash", "--norc", "--noprofile")  # fmt: skip
    try:
        _tmux("load-buffer", "-b", session, str(tmp_path / "block.txt"))
        _tmux("paste-buffer", "-d", "-b", session, "-t", session)
        # The unit is written by the line before the token's: the shell has reached the end.
        wait_for(unit.exists, timeout=600, what="the block to run up to the token line")
        wait_for(
            lambda: "Ctrl-D" in _tmux("capture-pane", "-p", "-t", session).split("wrote ")[-1],
            what="the token line to wait for input",
        )
        time.sleep(0.5)  # let `install` open its input (a human takes longer)
        _tmux("send-keys", "-t", session, device["token"], "Enter")
        _tmux("send-keys", "-t", session, "C-d")
        log = tmp_path / "systemctl.log"
        wait_for(lambda: log.exists() and "enable" in log.read_text(), what="the service enabled")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=30)

    token_file = tmp_path / "etc" / "device-token"
    assert token_file.read_text() == device["token"] + "\n", "only the token went into the file"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "etc").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "systemctl.log").read_text().splitlines() == [
        "daemon-reload",
        "enable --now edgedock-agent",
    ]
    text = unit.read_text()
    assert (
        f"ExecStart={tmp_path}/opt/bin/edgedock agent --server {live.url} --token-file {token_file} "
        in text
    )
    assert (tmp_path / "opt" / "bin" / "edgedock").exists()
