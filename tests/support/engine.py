"""A real Docker-compatible engine for tests: Podman's API service on its own socket and store.

Everything Podman keeps lives under the work directory: images and containers (storage.conf's
graphroot and runroot), its runtime state and locks (containers.conf's ``tmp_dir`` with
``lock_type = "file"``; the default SHM lock segment is shared by every Podman on the machine and
a fresh ``tmp_dir`` would make Podman free all of its locks), auth files and temporary files.
The one thing shared is netavark's IPAM database under /run/containers/networks, which locks.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

BUSYBOX = Path("/bin/busybox")  # from busybox-static: no shared libraries to copy
TEST_IMAGE_CMD = 'CMD ["/bin/sh","-c","echo ready; sleep 3600"]'
# Variables that would send podman to another engine, store or auth file than the test's own.
_FOREIGN_ENV = (
    "CONTAINER_HOST",
    "CONTAINER_CONNECTION",
    "CONTAINER_SSHKEY",
    "DOCKER_HOST",
    "REGISTRY_AUTH_FILE",
    "CONTAINERS_CONF_OVERRIDE",
    "CONTAINERS_STORAGE_CONF",
    "CONTAINERS_REGISTRIES_CONF",
    "CONTAINERS_CONF",
)
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes


@dataclass(frozen=True)
class EngineInfo:
    url: str  # "unix:///…/engine.sock", for the agent's Engine
    socket_path: Path
    env: dict[str, str]  # the whole environment for podman commands on the same store
    storage_driver: str
    process: subprocess.Popen[bytes]
    log_path: Path


class EngineStartFailed(RuntimeError):
    pass


class PodmanFailed(RuntimeError):
    pass


def storage_drivers() -> list[str]:
    """overlay where the kernel allows it (it does on these machines), else vfs, which always works.

    ``EDGEDOCK_TEST_STORAGE_DRIVER`` pins one.
    """
    pinned = os.environ.get("EDGEDOCK_TEST_STORAGE_DRIVER")
    return [pinned] if pinned else ["overlay", "vfs"]


def write_engine_config(
    workdir: Path, insecure_registries: list[str], *, storage_driver: str
) -> dict[str, str]:
    """Write registries.conf, containers.conf and storage.conf; return podman's environment."""
    for name in ("xdg", "tmp", "libpod"):
        (workdir / name).mkdir(mode=0o700, parents=True, exist_ok=True)
    registries = ["unqualified-search-registries = []", ""]
    for location in insecure_registries:
        registries += ["[[registry]]", f"location = {json.dumps(location)}", "insecure = true", ""]
    (workdir / "registries.conf").write_text("\n".join(registries))
    (workdir / "containers.conf").write_text(
        "[containers]\n"
        'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
        'log_driver = "k8s-file"\n'
        "[engine]\n"
        'cgroup_manager = "cgroupfs"\n'
        'runtime = "runc"\n'
        'events_logger = "file"\n'
        'lock_type = "file"\n'
        f"tmp_dir = {json.dumps(str(workdir / 'libpod'))}\n"
    )
    (workdir / "storage.conf").write_text(
        "[storage]\n"
        f"driver = {json.dumps(storage_driver)}\n"
        f"graphroot = {json.dumps(str(workdir / 'storage'))}\n"
        f"runroot = {json.dumps(str(workdir / 'run'))}\n"
    )
    # Pulls without X-Registry-Auth read the default auth file: make it an empty one of our own,
    # so that nothing from ~/.docker/config.json or /run/containers can make them succeed.
    (workdir / "auth.json").write_text('{"auths": {}}\n')
    env = {key: value for key, value in os.environ.items() if key not in _FOREIGN_ENV}
    env.update(
        CONTAINERS_CONF=str(workdir / "containers.conf"),
        CONTAINERS_REGISTRIES_CONF=str(workdir / "registries.conf"),
        CONTAINERS_STORAGE_CONF=str(workdir / "storage.conf"),
        REGISTRY_AUTH_FILE=str(workdir / "auth.json"),
        XDG_RUNTIME_DIR=str(workdir / "xdg"),
        TMPDIR=str(workdir / "tmp"),
    )
    return env


def run_podman(env: Mapping[str, str], *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        ["podman", *args],
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        stderr = done.stderr.decode(errors="replace")
        raise PodmanFailed(f"podman {args[0]} exited with {done.returncode}: {stderr}")
    return done.stdout.decode()


@contextmanager
def running_engine(workdir: Path, insecure_registries: list[str]) -> Iterator[EngineInfo]:
    """Serve the Docker Engine API from Podman until the block ends.

    On exit every container of this store is removed and the service is stopped by its pid.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    socket_dir = workdir
    if len(str(workdir / "engine.sock")) > _MAX_SOCKET_PATH:
        socket_dir = Path(tempfile.mkdtemp(prefix="edgedock-engine-", dir="/tmp"))
    socket_path = socket_dir / "engine.sock"
    failures: list[str] = []
    try:
        for driver in storage_drivers():
            env = write_engine_config(workdir, insecure_registries, storage_driver=driver)
            log_path = workdir / f"engine-{driver}.log"
            process = _start_service(env, socket_path, log_path)
            try:
                _wait_for_ping(process, socket_path, log_path)
            except EngineStartFailed as exc:
                _stop(process)
                failures.append(f"{driver}: {exc}")
                for name in ("storage", "run", "libpod"):
                    shutil.rmtree(workdir / name, ignore_errors=True)
                continue
            try:
                yield EngineInfo(
                    url=f"unix://{socket_path}",
                    socket_path=socket_path,
                    env=env,
                    storage_driver=driver,
                    process=process,
                    log_path=log_path,
                )
            finally:
                try:
                    run_podman(env, "rm", "--all", "--force", "--time", "0", timeout=60)
                finally:
                    _stop(process)
            return
        raise EngineStartFailed("podman system service did not start: " + "; ".join(failures))
    finally:
        socket_path.unlink(missing_ok=True)
        if socket_dir != workdir:
            shutil.rmtree(socket_dir, ignore_errors=True)


def build_and_push_test_image(
    engine_env: Mapping[str, str], workdir: Path, image: str, username: str, password: str
) -> None:
    """Build a busybox-only image without any download, push it to its registry, drop the copy.

    The push credentials go to an auth file made for this push and deleted right after it, not
    to ``--creds user:pass``: that would put the password in the process list and split wrongly
    on a ``:`` in the password.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    tar_path = busybox_rootfs_tar(workdir)
    run_podman(engine_env, "import", "--quiet", "--change", TEST_IMAGE_CMD, str(tar_path), image)
    registry = image.split("/", 1)[0]
    authfile = workdir / f"push-auth-{secrets.token_hex(8)}.json"
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    descriptor = os.open(authfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"auths": {registry: {"auth": token}}}, file)
    try:
        run_podman(
            engine_env, "push", "--quiet", "--tls-verify=false", "--authfile", str(authfile), image
        )
    finally:
        authfile.unlink(missing_ok=True)
    run_podman(engine_env, "rmi", image)


def busybox_rootfs_tar(workdir: Path) -> Path:
    rootfs = workdir / "image-rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, rootfs / "bin" / "busybox")
    (rootfs / "bin" / "sh").symlink_to("busybox")
    tar_path = workdir / "image-rootfs.tar"

    def as_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with tarfile.open(tar_path, "w") as tar:
        tar.add(rootfs, arcname=".", filter=as_root)
    return tar_path


def _start_service(
    env: Mapping[str, str], socket_path: Path, log_path: Path
) -> subprocess.Popen[bytes]:
    socket_path.unlink(missing_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{socket_path}"],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _wait_for_ping(process: subprocess.Popen[bytes], socket_path: Path, log_path: Path) -> None:
    deadline = time.monotonic() + 20
    transport = httpx.HTTPTransport(uds=str(socket_path))
    with httpx.Client(transport=transport, base_url="http://engine", timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise EngineStartFailed(f"exited with {process.returncode}: {_tail(log_path)}")
            if socket_path.exists():
                try:
                    response = client.get("/_ping")
                    if response.status_code == 200 and response.text == "OK":
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.02)
    raise EngineStartFailed(f"no OK from /_ping within 20 s: {_tail(log_path)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
