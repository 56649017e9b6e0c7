"""A TCP proxy on loopback that a test controls, for database faults no real network gives on cue.

Modes, switched at any time from the test's thread:
- ``pass``: bytes are forwarded both ways;
- ``cut``: every open connection is closed, and new ones are closed as soon as accepted (a
  database that went away, a refused connection);
- ``blackhole``: new connections are accepted and held, nothing is read or forwarded on any
  connection (a host that vanished without a reset: SYN-ACKs from a middlebox, then silence);
- ``drop``: every byte that arrives, on any connection, is read and thrown away (a failover or
  NAT expiry that silently swallows packets; the peer's writes never block, answers never come).

Going back to ``pass`` closes the connections that were held or had bytes dropped: they can
never be in sync again, and a real network would have reset them too. The proxy runs its own
asyncio loop in a daemon thread, so it works beside synchronous tests and live servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["pass", "cut", "blackhole", "drop"]
_CHUNK = 65536


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    tainted: bool = False  # held or dropped bytes: closed on the way back to pass
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def close(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.transport.abort()
        for task in self.tasks:
            task.cancel()


class TcpProxy:
    """Listens on 127.0.0.1:<port> and forwards to ``target_host:target_port``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.mode: Mode = "pass"
        self.accepted = 0
        self._links: set[_Link] = set()
        self._loop = asyncio.new_event_loop()
        self._changed: asyncio.Event | None = None
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> TcpProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def set_mode(self, mode: Mode) -> None:
        asyncio.run_coroutine_threadsafe(self._set_mode(mode), self._loop).result(timeout=10)

    @property
    def open_connections(self) -> int:
        return len(self._links)

    async def _listen(self) -> None:
        self._changed = asyncio.Event()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        for link in list(self._links):
            link.close()
        self._links.clear()

    async def _set_mode(self, mode: Mode) -> None:
        previous, self.mode = self.mode, mode
        if mode == "cut" or (mode == "pass" and previous != "pass"):
            for link in list(self._links):
                if mode == "cut" or link.tainted:
                    link.close()
                    self._links.discard(link)
        if mode in ("blackhole", "drop"):
            for link in self._links:
                link.tainted = True
        assert self._changed is not None
        self._changed.set()
        self._changed = asyncio.Event()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        link = _Link(client=writer)
        if self.mode == "cut":
            link.close()
            return
        self._links.add(link)
        try:
            await self._wait_for_pass(link, reader)
            up_reader, link.upstream = await asyncio.open_connection(*self.target)
            link.tasks = [
                asyncio.ensure_future(self._pump(link, reader, link.upstream)),
                asyncio.ensure_future(self._pump(link, up_reader, writer)),
            ]
            await asyncio.gather(*link.tasks, return_exceptions=True)
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            link.close()
            self._links.discard(link)

    async def _wait_for_pass(self, link: _Link, reader: asyncio.StreamReader) -> None:
        """A connection accepted in blackhole or drop mode waits, held or draining."""
        while self.mode != "pass":
            link.tainted = True
            assert self._changed is not None
            changed = asyncio.ensure_future(self._changed.wait())
            if self.mode == "drop":
                await self._drain_until(reader, changed)
            else:
                await changed
            if link not in self._links:
                raise asyncio.CancelledError

    async def _drain_until(
        self, reader: asyncio.StreamReader, changed: asyncio.Future[bool]
    ) -> None:
        while not changed.done():
            read = asyncio.ensure_future(reader.read(_CHUNK))
            await asyncio.wait({read, changed}, return_when=asyncio.FIRST_COMPLETED)
            if not read.done():
                read.cancel()
            elif not read.result():
                await changed  # the peer closed; wait for the mode to change
        await changed

    async def _pump(
        self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            if self.mode == "blackhole":
                link.tainted = True
                assert self._changed is not None
                await self._changed.wait()
                continue
            data = await reader.read(_CHUNK)
            if not data:
                writer.close()
                return
            if self.mode == "drop":
                link.tainted = True
                continue
            if self.mode == "blackhole":
                link.tainted = True  # read just before the switch: held, never forwarded
                continue
            writer.write(data)
            await writer.drain()


@contextlib.contextmanager
def tcp_proxy(target_host: str, target_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target_host, target_port).start()
    try:
        yield proxy
    finally:
        proxy.stop()
