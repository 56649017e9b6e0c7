"""What the agent tells the server: per-container status and timeline events, sent when changed.

The book keeps the latest status of each desired container and the events not yet delivered.
A report carries only what changed since the last one the server accepted (everything after a
restart), so a converged device sends nothing between passes. What the engine runs for the
device's deployments (`set_running`) goes out whole, and only when it changed. If the server
cannot be reached, changes accumulate (statuses are overwritten, events are capped at the
protocol's limit, the oldest dropped first) and go out with the next report that gets
through. Engine text is cut to the protocol's bounds and made storable (no NUL, no lone
surrogate) before it is queued, so the server never refuses a report for what an engine said.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection
from datetime import datetime

from edgedock import wire
from edgedock.agent.engine import ManagedContainer
from edgedock.agent.plan import Key
from edgedock.text import scrub

MAX_EVENTS = wire.MAX_REPORT_ITEMS  # wire.StatusReport accepts at most this many per report


def status_of(engine_state: str) -> wire.ContainerStatus:
    """The product's status word for the engine's state of an existing container."""
    if engine_state in ("running", "restarting"):
        return "running"
    if engine_state in ("created", "configured"):
        return "created"
    if engine_state in ("exited", "stopped", "dead", "paused"):
        return "stopped"
    return "pending"


class StatusBook:
    def __init__(self, *, now: Callable[[], datetime]) -> None:
        self._now = now
        self._current: dict[Key, wire.ContainerReport] = {}
        self._sent: dict[Key, wire.ContainerReport] = {}
        self._events: deque[wire.StatusEvent] = deque(maxlen=MAX_EVENTS)
        self._engine: wire.EngineInfo | None = None
        self._engine_sent = False
        self._running: list[wire.RunningContainer] | None = None
        self._running_sent: list[wire.RunningContainer] | None = None

    def set_engine(self, info: wire.EngineInfo) -> None:
        if info != self._engine:
            self._engine, self._engine_sent = info, False

    def set_running(self, containers: list[ManagedContainer]) -> None:
        self._running = sorted(
            (
                wire.RunningContainer(
                    deployment_id=scrub(m.deployment_id, wire.MAX_ID),
                    container_id=scrub(m.container_id, wire.MAX_ID),
                    name=scrub(m.name, wire.MAX_CONTAINER_NAME),
                    image=scrub(m.image, wire.MAX_IMAGE),
                    state=scrub(m.state, wire.MAX_STATE),
                    release_id=scrub(m.release_id, wire.MAX_ID) if m.release_id else None,
                    version=scrub(m.version, wire.MAX_VERSION) if m.version else None,
                )
                for m in containers
            ),
            key=lambda r: (r.deployment_id, r.name),
        )[: wire.MAX_REPORT_ITEMS]

    def set(self, key: Key, status: wire.ContainerStatus, message: str | None = None) -> None:
        self._current[key] = wire.ContainerReport(
            deployment_id=key[0],
            container_id=key[1],
            status=status,
            message=scrub(message, wire.MAX_MESSAGE) if message is not None else None,
        )

    def get(self, key: Key) -> wire.ContainerReport | None:
        return self._current.get(key)

    def keep_only(self, keys: Collection[Key]) -> None:
        """Forget containers that are no longer desired, and their undelivered events."""
        deployments = {key[0] for key in keys}
        for key in [k for k in self._current if k not in keys]:
            del self._current[key]
            self._sent.pop(key, None)
        kept = [e for e in self._events if e.deployment_id in deployments]
        self._events = deque(kept, maxlen=MAX_EVENTS)

    def event(self, key: Key, kind: str, message: str) -> None:
        self._events.append(
            wire.StatusEvent(
                deployment_id=key[0],
                container_id=key[1] or None,
                kind=scrub(kind, wire.MAX_KIND),
                message=scrub(message, wire.MAX_MESSAGE),
                at=self._now(),
            )
        )

    def pending(self) -> wire.StatusReport | None:
        """The report to send now, or ``None`` when the server already knows everything."""
        changed = [r for key, r in self._current.items() if self._sent.get(key) != r]
        engine = None if self._engine_sent else self._engine
        running = None if self._running == self._running_sent else self._running
        if not changed and not self._events and engine is None and running is None:
            return None
        return wire.StatusReport(
            engine=engine, containers=changed, events=list(self._events), running=running
        )

    def delivered(self, report: wire.StatusReport) -> None:
        """The server accepted ``report`` (or refused it for good): do not send it again."""
        for container in report.containers:
            self._sent[(container.deployment_id, container.container_id)] = container
        delivered = set(report.events)
        self._events = deque((e for e in self._events if e not in delivered), maxlen=MAX_EVENTS)
        if report.engine is not None and report.engine == self._engine:
            self._engine_sent = True
        if report.running is not None:
            self._running_sent = report.running
