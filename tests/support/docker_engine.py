"""The real Docker Engine for tests: Debian's ``dockerd`` (20.10) on its own socket and roots.

Each engine gets its own socket, data root, exec root (where its managed containerd keeps its
socket and state), pidfile, ``daemon.json`` (so /etc/docker/daemon.json is never read) and an
empty ``DOCKER_CONFIG`` for the ``docker`` CLI, so nothing from ~/.docker leaks into a test.
No iptables, no bridge, vfs storage: what works in this sandbox.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.engine import TEST_IMAGE_CMD, busybox_rootfs_tar

# Variables that would send the docker CLI or dockerd elsewhere than the test's own engine.
_FOREIGN_ENV = (
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_CONFIG",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
    "DOCKER_API_VERSION",
)
_START_TIMEOUT = 60.0  # dockerd also starts its own containerd: slower than Podman on two cores


@dataclass(frozen=True)
class DockerEngineInfo:
    url: str  # "unix:///…/docker.sock", for the agent's Engine
    socket_path: Path
    env: dict[str, str]  # the whole environment for docker CLI commands against this engine
    config_dir: Path  # DOCKER_CONFIG: where `docker login` writes config.json
    process: subprocess.Popen[bytes]
    log_path: Path


class DockerEngineStartFailed(RuntimeError):
    pass


class DockerFailed(RuntimeError):
    pass


def dockerd_path() -> str | None:
    return shutil.which("dockerd")


def docker_cli() -> str:
    """The ``docker`` CLI of the docker.io package, beside its daemon (another may be on PATH)."""
    packaged = Path("/usr/bin/docker")
    if packaged.exists():
        return str(packaged)
    found = shutil.which("docker")
    if found is None:
        raise DockerFailed("no docker CLI installed (bash scripts/install-system-packages.sh)")
    return found


def run_docker(
    env: Mapping[str, str],
    *args: str,
    stdin: bytes | None = None,
    timeout: float = 120,
) -> str:
    """Run the docker CLI; secrets go in on ``stdin`` (``--password-stdin``), never in ``args``."""
    done = subprocess.run(
        [docker_cli(), *args],
        env=dict(env),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        stderr = done.stderr.decode(errors="replace")
        raise DockerFailed(f"docker {args[0]} exited with {done.returncode}: {stderr}")
    return done.stdout.decode()


def docker_login(env: Mapping[str, str], registry: str, username: str, password: str) -> None:
    """``docker login`` as a person does it: writes ``$DOCKER_CONFIG/config.json``."""
    run_docker(
        env,
        "login",
        "--username",
        username,
        "--password-stdin",
        registry,
        stdin=password.encode(),
    )


@contextmanager
def running_docker_engine(
    workdir: Path, insecure_registries: list[str]
) -> Iterator[DockerEngineInfo]:
    """Run dockerd until the block ends; then remove its containers and stop it by its pid.

    The socket and exec root live in a short directory under /tmp: unix socket paths hold
    108 bytes, and containerd's own sockets sit deeper in the exec root.
    """
    if dockerd_path() is None:
        raise DockerEngineStartFailed(
            "dockerd is not installed (bash scripts/install-system-packages.sh)"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    runtime = Path(tempfile.mkdtemp(prefix="edd-", dir="/tmp"))
    socket_path = runtime / "docker.sock"
    config_dir = workdir / "docker-config"
    config_dir.mkdir(mode=0o700, exist_ok=True)
    daemon_json = workdir / "daemon.json"
    daemon_json.write_text(json.dumps({"insecure-registries": insecure_registries}) + "\n")
    base_env = {key: value for key, value in os.environ.items() if key not in _FOREIGN_ENV}
    cli_env = dict(base_env, DOCKER_HOST=f"unix://{socket_path}", DOCKER_CONFIG=str(config_dir))
    log_path = workdir / "dockerd.log"
    try:
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [
                    "dockerd",
                    "--host",
                    f"unix://{socket_path}",
                    "--data-root",
                    str(workdir / "docker-root"),
                    "--exec-root",
                    str(runtime / "exec"),
                    "--pidfile",
                    str(runtime / "docker.pid"),
                    "--config-file",
                    str(daemon_json),
                    "--iptables=false",
                    "--ip6tables=false",
                    "--bridge=none",
                    "--storage-driver=vfs",
                ],
                env=base_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_for_ping(process, socket_path, log_path)
        except DockerEngineStartFailed:
            _stop(process, runtime)
            raise
        try:
            yield DockerEngineInfo(
                url=f"unix://{socket_path}",
                socket_path=socket_path,
                env=cli_env,
                config_dir=config_dir,
                process=process,
                log_path=log_path,
            )
        finally:
            try:
                _remove_all_containers(cli_env)
            finally:
                _stop(process, runtime)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def build_and_push_test_image_with_docker(
    engine_env: Mapping[str, str], workdir: Path, image: str, username: str, password: str
) -> None:
    """Build the busybox-only image with ``docker import``, push it, drop the local copy.

    The login goes to a ``DOCKER_CONFIG`` made for this push and deleted right after it, so the
    engine's own config stays empty and the password is never in a process list.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    tar_path = busybox_rootfs_tar(workdir)
    run_docker(engine_env, "import", "--change", TEST_IMAGE_CMD, str(tar_path), image)
    registry = image.split("/", 1)[0]
    push_config = workdir / f"push-config-{secrets.token_hex(8)}"
    push_config.mkdir(mode=0o700)
    push_env = dict(engine_env, DOCKER_CONFIG=str(push_config))
    try:
        docker_login(push_env, registry, username, password)
        run_docker(push_env, "push", "--quiet", image)
    finally:
        shutil.rmtree(push_config, ignore_errors=True)
    run_docker(engine_env, "rmi", image)


def _remove_all_containers(env: Mapping[str, str]) -> None:
    ids = run_docker(env, "ps", "--all", "--quiet", timeout=60).split()
    if ids:
        run_docker(env, "rm", "--force", *ids, timeout=120)


def _wait_for_ping(process: subprocess.Popen[bytes], socket_path: Path, log_path: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    transport = httpx.HTTPTransport(uds=str(socket_path))
    with httpx.Client(transport=transport, base_url="http://engine", timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DockerEngineStartFailed(
                    f"dockerd exited with {process.returncode}: {_tail(log_path)}"
                )
            if socket_path.exists():
                try:
                    response = client.get("/_ping")
                    if response.status_code == 200 and response.text == "OK":
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.05)
    raise DockerEngineStartFailed(
        f"no OK from dockerd's /_ping within {_START_TIMEOUT:.0f} s: {_tail(log_path)}"
    )


def _stop(process: subprocess.Popen[bytes], runtime: Path) -> None:
    """SIGTERM lets dockerd stop its containerd; if it had to be killed, stop that one too."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()
    pidfile = runtime / "exec" / "containerd" / "containerd.pid"
    try:
        containerd_pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    # Only if that pid is still our containerd (its command line names our exec root).
    try:
        cmdline = Path(f"/proc/{containerd_pid}/cmdline").read_bytes()
    except OSError:
        return
    if str(runtime).encode() in cmdline:
        os.kill(containerd_pid, signal.SIGTERM)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
