"""Servers under test: temporary databases, `edgedock serve` replicas and the floor, as processes.

Everything listens on 127.0.0.1, every process is stopped through its own pid, and every
temporary PostgreSQL database is dropped. CPU time and RSS are read from /proc, so the figures
are the server processes' own and not the client's.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import resource
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
EDGEDOCK = str(BIN / "edgedock")
PG_ADMIN_URL = os.environ.get(
    "EDGEDOCK_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def raise_nofile() -> int:
    """Lift the soft open-files limit to the hard one: 10,000 devices are 10,000 sockets.

    Child processes inherit it, so calling this before starting servers covers them too.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pids: Sequence[int]) -> float:
    """User plus system CPU time of these processes (utime + stime of /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15
    return total / _CLOCK_TICKS


def rss_bytes(pids: Sequence[int]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def wait_until_quiet(pids: Sequence[int], *, limit: float, busy: float = 0.1) -> bool:
    """Waits (at most `limit` s) for the servers to use under `busy` of a core over 0.5 s."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(pids)
        time.sleep(0.5)
        if cpu_seconds(pids) - before < busy * 0.5:
            return True
    return False


async def _pg_admin(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def create_database(backend: str, folder: Path) -> str:
    """A fresh database of `backend`, migrated by `edgedock db upgrade`; returns its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'edgedock-bench.db'}"
    else:
        name = f"edgedock_bench_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    env = server_env(folder, url, secret_keys="k1:" + base64.b64encode(bytes(32)).decode())
    migrated = subprocess.run([EDGEDOCK, "db", "upgrade"], env=env, capture_output=True, text=True)
    if migrated.returncode != 0:
        drop_database(url)
        raise RuntimeError(f"edgedock db upgrade failed: {migrated.stderr.strip()[-500:]}")
    return url


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        name = url.rsplit("/", 1)[1]
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def server_env(
    folder: Path, database_url: str, *, secret_keys: str | None = None
) -> dict[str, str]:
    """The environment of `edgedock serve`; replicas share one so they share one keyring."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEDOCK_")}
    env.update(
        EDGEDOCK_DATA_DIR=str(folder / "data"),
        EDGEDOCK_DATABASE_URL=database_url,
        EDGEDOCK_SECRET_KEYS=secret_keys
        or "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        EDGEDOCK_LOG_LEVEL="WARNING",
    )
    return env


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid


def create_tenant(env: dict[str, str], slug: str) -> str:
    """`edgedock tenants create`: the tenant's first admin token."""
    return subprocess.run(
        [EDGEDOCK, "tenants", "create", slug],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()


@contextlib.contextmanager
def edgedock_server(name: str, folder: Path, env: dict[str, str]) -> Iterator[Server]:
    port = free_port()
    env = {**env, "EDGEDOCK_HOST": "127.0.0.1", "EDGEDOCK_PORT": str(port)}
    with _running(name, [EDGEDOCK, "serve"], folder, port, env) as server:
        yield server


@contextlib.contextmanager
def floor_server(folder: Path) -> Iterator[Server]:
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.floor", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with _running("floor", command, folder, port, env) as server:
        yield server


@contextlib.contextmanager
def _running(
    name: str, command: list[str], folder: Path, port: int, env: dict[str, str]
) -> Iterator[Server]:
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / f"{name}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    server = Server(name, f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_up(server)
        yield server
    finally:
        stop(server)


def stop(server: Server) -> None:
    """SIGTERM to this pid, SIGKILL to the same pid if it has not gone after 15 s."""
    if server.process.poll() is not None:
        return
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited early:\n{server.log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not come up:\n{server.log_path.read_text()}")
