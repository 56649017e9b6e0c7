"""A real `edgedock serve` process on a free loopback port, for CLI, agent and e2e tests."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

EDGEDOCK = str(Path(sys.executable).with_name("edgedock"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    log_path: Path
    admin_token: str
    process: subprocess.Popen[bytes]

    def cli(
        self, *args: str, input: str | None = None, token: str | None = None, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run the `edgedock` CLI against this server, as an operator would."""
        env = {**self.env, "EDGEDOCK_URL": self.url, "EDGEDOCK_TOKEN": token or self.admin_token}
        return subprocess.run(
            [EDGEDOCK, *args],
            input=input,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=check,
        )

    def api(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token or self.admin_token}"},
            timeout=30,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def server_env(
    workdir: Path, database_url: str, *, secret_keys: str | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEDOCK_")}
    env.update(
        EDGEDOCK_DATA_DIR=str(workdir / "data"),
        EDGEDOCK_DATABASE_URL=database_url,
        EDGEDOCK_SECRET_KEYS=secret_keys
        or "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        EDGEDOCK_LOG_LEVEL="DEBUG",
    )
    return env


@contextlib.contextmanager
def running_server(
    workdir: Path, database_url: str, *, env: dict[str, str] | None = None, tenant: str = "acme"
) -> Iterator[LiveServer]:
    """`database_url` must already be migrated (tests.conftest.create_database)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = env or server_env(workdir, database_url)
    port = free_port()
    env = {
        "EDGEDOCK_PUBLIC_URL": f"http://127.0.0.1:{port}",
        **env,
        "EDGEDOCK_HOST": "127.0.0.1",
        "EDGEDOCK_PORT": str(port),
    }
    token = subprocess.run(
        [EDGEDOCK, "tenants", "create", tenant],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    log_path = workdir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([EDGEDOCK, "serve"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log_path)
        yield LiveServer(url, env, log_path, token, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"edgedock serve exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"edgedock serve did not come up:\n{log_path.read_text()}")
