"""Simulated devices: client processes that each drive a share of the fleet through aiohttp.

One aiohttp session per process with an unlimited connector (`limit=0`), so every device holds
its own keep-alive connection and nothing queues in the client; several processes, so that
parsing 10,000 answers is spread over the cores. The floor, driven by this same client in the
same run, shows the client's own limits: a figure close to the floor's is the client's ceiling,
not edgedock's.

The main process talks to each client process over a pipe with small commands (`connect`,
`park`, `seen`, `idle_start`, `idle_count`, `idle_stop`, `throughput`, `close`) and gets plain
values back. Times are `time.monotonic()`, one clock for all processes on Linux.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

RETRIES = 3


@dataclass(frozen=True)
class Device:
    id: str
    token: str
    url: str  # the replica this device talks to


@dataclass
class _Counters:
    not_modified: int = 0
    other: int = 0
    errors: int = 0
    headers_sent: int = 0


class _Fleet:
    """One client process's devices, their ETags and what they saw."""

    def __init__(self, session: Any, devices: Sequence[Device], planted: str) -> None:
        self.session, self.devices, self.planted = session, list(devices), planted.encode()
        self.etags: dict[str, str | None] = {d.id: None for d in self.devices}
        self.auth_bodies: dict[str, bytes] = {}
        self.counters = _Counters()
        self.leaks = 0
        self.parked: list[asyncio.Task[float | None]] = []
        self.idle: list[asyncio.Task[None]] = []
        self.idle_wait: float | None = None
        self.all_sent = asyncio.Event()

    async def request(
        self, method: str, device: Device, path: str, **kw: Any
    ) -> tuple[int, Any, bytes]:
        import aiohttp

        headers = {"Authorization": f"Bearer {device.token}", **kw.pop("headers", {})}
        for attempt in range(RETRIES):
            try:
                async with self.session.request(
                    method, device.url + path, headers=headers, **kw
                ) as answer:
                    return answer.status, answer.headers, await answer.read()
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError):
                # A keep-alive connection the server closed as it was being reused.
                self.counters.errors += 1
                if attempt == RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def poll(self, device: Device, wait: float) -> tuple[int, bytes]:
        import aiohttp

        etag = self.etags[device.id]
        headers = {"If-None-Match": etag} if etag else {}
        status, answer_headers, body = await self.request(
            "GET",
            device,
            "/device/v1/desired-state",
            params={"wait": str(wait)} if wait else None,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=wait + 600),
        )
        if status not in (200, 304):
            raise RuntimeError(f"desired-state answered {status}: {body[:200]!r}")
        self.etags[device.id] = answer_headers.get("ETag", etag)
        if self.planted in body:
            self.leaks += 1
        return status, body

    async def connect(self, concurrency: int) -> int:
        gate = asyncio.Semaphore(concurrency)

        async def one(device: Device) -> None:
            async with gate:
                await self.poll(device, 0)

        await asyncio.gather(*(one(d) for d in self.devices))
        return len(self.devices)

    async def park(self, wait: float, limit: float) -> int:
        """Starts one long poll per device; returns once every request has left the client."""
        self.counters.headers_sent = 0
        self.all_sent.clear()
        self.parked = [asyncio.create_task(self._until_deployed(d, wait)) for d in self.devices]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_sent.wait(), timeout=limit)
        return self.counters.headers_sent

    def on_headers_sent(self) -> None:
        self.counters.headers_sent += 1
        if self.counters.headers_sent >= len(self.devices):
            self.all_sent.set()

    async def _until_deployed(self, device: Device, wait: float) -> float | None:
        while True:
            status, body = await self.poll(device, wait)
            if status == 200 and json.loads(body).get("deployments"):
                return time.monotonic()

    async def seen(self, limit: float) -> dict[str, Any]:
        done, pending = await asyncio.wait(self.parked, timeout=limit)
        for task in pending:
            task.cancel()
        seen, failed = {}, 0
        for device, task in zip(self.devices, self.parked, strict=True):
            if task in done and task.exception() is None:
                seen[device.id] = task.result()
            else:
                failed += 1
        return {"seen": seen, "failed": failed, "leaks": self.leaks}

    async def idle_start(self, wait: float) -> None:
        self.idle_wait = wait
        self.idle = [asyncio.create_task(self._idle(d, wait)) for d in self.devices]

    async def _idle(self, device: Device, wait: float) -> None:
        while self.idle_wait is not None:
            status, _ = await self.poll(device, wait)
            if status == 304:
                self.counters.not_modified += 1
            else:
                self.counters.other += 1

    async def idle_stop(self, limit: float) -> dict[str, int]:
        """Lets every idle poll end on its own (at most `limit` s), so no request is cut."""
        self.idle_wait = None
        _, pending = await asyncio.wait(self.idle, timeout=limit)
        for task in pending:
            task.cancel()
        return {"cut": len(pending)}

    async def throughput(
        self, kind: str, count: int, concurrency: int, limit: float
    ) -> dict[str, Any]:
        """`count` requests (at most `limit` s) with `concurrency` in flight, devices in turn."""
        next_index, done, errors = 0, 0, 0
        deadline = time.monotonic() + limit

        async def worker() -> None:
            nonlocal next_index, done, errors
            while next_index < count and time.monotonic() < deadline:
                device = self.devices[next_index % len(self.devices)]
                next_index += 1
                if kind == "ping":
                    status, _, _ = await self.request("GET", device, "/device/v1/ping")
                    ok = status == 204
                elif kind == "status":
                    status, _, _ = await self.request(
                        "POST",
                        device,
                        "/device/v1/status",
                        data=_failed_pull_report(self.auth_bodies[device.id]),
                        headers={"Content-Type": "application/json"},
                    )
                    ok = status == 204
                else:
                    body = self.auth_bodies[device.id]
                    status, _, _ = await self.request(
                        "POST",
                        device,
                        "/device/v1/registry-auth",
                        data=body,
                        headers={"Content-Type": "application/json"},
                    )
                    ok = status == 200
                done, errors = done + ok, errors + (not ok)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return {"done": done, "errors": errors, "elapsed": time.monotonic() - started}


def _failed_pull_report(auth_body: bytes) -> bytes:
    """A status report as an agent in a retry storm sends it: the same refused pull again."""
    target = json.loads(auth_body)
    refused = "unauthorized: authentication required"
    ids = {"deployment_id": target["deployment_id"], "container_id": target["container_id"]}
    report = {
        "containers": [{**ids, "status": "error", "message": refused}],
        "events": [
            {
                **ids,
                "kind": "pull_failed",
                "message": refused,
                "at": datetime.now(UTC).isoformat(),
            }
        ],
    }
    return json.dumps(report).encode()


async def _serve(conn: Connection, devices: Sequence[Device], planted: str) -> None:
    import aiohttp

    fleets: list[_Fleet] = []

    async def sent(*_: Any) -> None:
        fleets[0].on_headers_sent()

    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(sent)
    # uvicorn closes a keep-alive connection after 5 s idle (`timeout_keep_alive`); reusing one
    # it is closing costs a reset, so the client lets its own go first.
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=3)
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession(connector=connector, trace_configs=[trace]) as session:
        fleet = _Fleet(session, devices, planted)
        fleets.append(fleet)
        while True:
            command, kw = await loop.run_in_executor(None, conn.recv)
            if command == "close":
                conn.send(None)
                return
            try:
                conn.send(("ok", await _dispatch(fleet, command, kw)))
            except Exception as exc:  # reported to the main process, which stops the run
                conn.send(("error", f"{type(exc).__name__}: {exc}"))


async def _dispatch(fleet: _Fleet, command: str, kw: dict[str, Any]) -> Any:
    if command == "auth_bodies":
        fleet.auth_bodies.update({k: v.encode() for k, v in kw["bodies"].items()})
        return None
    if command == "idle_count":
        return vars(fleet.counters).copy()
    return await getattr(fleet, command)(**kw)


def _main(conn: Connection, devices: Sequence[Device], planted: str) -> None:
    from benchmarks.servers import raise_nofile

    raise_nofile()
    asyncio.run(_serve(conn, devices, planted))


class ClientPool:
    """The client processes, each with a contiguous slice of the devices (so each process has
    devices of every replica when they alternate); `call` runs a command on all of them."""

    def __init__(self, devices: Sequence[Device], processes: int, planted: str) -> None:
        context = multiprocessing.get_context("spawn")
        n = len(devices)
        self.shares = [
            list(devices[i * n // processes : (i + 1) * n // processes]) for i in range(processes)
        ]
        self.conns: list[Connection] = []
        self.processes = []
        for share in self.shares:
            mine, theirs = context.Pipe()
            process = context.Process(target=_main, args=(theirs, share, planted), daemon=True)
            process.start()
            self.conns.append(mine)
            self.processes.append(process)

    def call(
        self, command: str, per_process: Sequence[dict[str, Any]] | None = None, **kw: Any
    ) -> list[Any]:
        arguments = per_process or [kw] * len(self.conns)
        for conn, args in zip(self.conns, arguments, strict=True):
            conn.send((command, args))
        results = []
        for conn in self.conns:
            status, value = conn.recv()
            if status == "error":
                raise RuntimeError(f"client process failed on {command}: {value}")
            results.append(value)
        return results

    def close(self) -> None:
        for conn, process in zip(self.conns, self.processes, strict=True):
            if process.is_alive():
                try:
                    conn.send(("close", {}))
                    conn.recv()
                except (EOFError, OSError):
                    pass
            process.join(timeout=30)
            if process.is_alive():
                process.kill()  # this client process's own pid
                process.join()
