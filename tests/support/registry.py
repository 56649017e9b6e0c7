"""A real private registry for tests: Debian's docker-registry (Distribution 2.8).

It authenticates either with htpasswd (Basic) or, given a :class:`TokenAuth`, with the token
protocol (Bearer): the registry then trusts tokens signed by a key whose certificate is in
``rootcertbundle`` and sends clients to ``realm`` to get them.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class RegistryInfo:
    host: str  # "localhost:PORT": the registry part of image names, and what podman calls it
    url: str  # "http://127.0.0.1:PORT"
    process: subprocess.Popen[bytes]
    log_path: Path


class RegistryStartFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class TokenAuth:
    """The registry's ``auth: token:`` section: who issues tokens, and the certificates it trusts."""

    realm: str  # the URL clients ask for a token
    service: str  # the audience the tokens must carry
    issuer: str  # the ``iss`` the tokens must carry
    rootcertbundle: Path  # PEM certificates of the signing keys


def write_htpasswd(path: Path, users: dict[str, str]) -> None:
    """bcrypt entries made by ``htpasswd -Bin``: the password goes in on stdin, so it never shows
    in a process list and no character in it (``?``, ``>``, ``~``, ``$``, ``:``) needs quoting."""
    lines = []
    for username, password in users.items():
        done = subprocess.run(
            ["htpasswd", "-Bin", username],
            input=password.encode(),
            capture_output=True,
            check=True,
        )
        lines.append(done.stdout.decode().strip())
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(workdir: Path, port: int, token: TokenAuth | None = None) -> Path:
    # YAML is a superset of JSON, so json.dumps quotes paths safely.
    config = {
        "version": 0.1,
        "log": {"level": "info"},
        "storage": {"filesystem": {"rootdirectory": str(workdir / "data")}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "edgedock-tests-only"},
        "auth": {"htpasswd": {"realm": "edgedock-tests", "path": str(workdir / "htpasswd")}},
    }
    if token is not None:
        config["auth"] = {
            "token": {
                "realm": token.realm,
                "service": token.service,
                "issuer": token.issuer,
                "rootcertbundle": str(token.rootcertbundle),
            }
        }
    path = workdir / "config.yml"
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def x_registry_auth(username: str, password: str, serveraddress: str) -> str:
    """The X-Registry-Auth value a Docker client sends: base64url of the JSON auth config."""
    payload = {"username": username, "password": password, "serveraddress": serveraddress}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@contextmanager
def running_registry(
    workdir: Path,
    users: dict[str, str] | None = None,
    *,
    token: TokenAuth | None = None,
    port: int | None = None,
) -> Iterator[RegistryInfo]:
    """Serve a registry until the block ends, then stop it by pid.

    It accepts only ``users`` (htpasswd), or, with ``token``, only tokens that its realm signs.

    The port is picked free just before start; if another process takes it in between, the
    registry exits at once and a fresh port is tried. A given ``port`` (one the token service
    already knows the registry by, see ``free_port``) is tried once.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    write_htpasswd(workdir / "htpasswd", users or {})
    last_error: Exception | None = None
    fixed = port
    for _attempt in range(1 if fixed is not None else 3):
        port = fixed if fixed is not None else free_port()
        config = write_config(workdir, port, token)
        log_path = workdir / "registry.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                ["docker-registry", "serve", str(config)],
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_ready(process, f"http://127.0.0.1:{port}", log_path)
        except RegistryStartFailed as exc:
            _stop(process)
            last_error = exc
            continue
        try:
            yield RegistryInfo(
                host=f"localhost:{port}",
                url=f"http://127.0.0.1:{port}",
                process=process,
                log_path=log_path,
            )
        finally:
            _stop(process)
        return
    raise RegistryStartFailed(f"the registry did not start three times: {last_error}")


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + 15
    with httpx.Client(trust_env=False, timeout=1) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RegistryStartFailed(
                    f"docker-registry exited with {process.returncode}: {_tail(log_path)}"
                )
            try:
                if client.get(f"{url}/v2/").status_code == 401:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
    raise RegistryStartFailed(f"no 401 from {url}/v2/ within 15 s: {_tail(log_path)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
