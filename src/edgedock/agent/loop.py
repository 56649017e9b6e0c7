"""The reconcile loop: long-poll the desired state, make the engine match it, report what happened.

One pass lists the managed containers, asks `plan` what to do and does it, action by action
(`plan` leaves the containers of other devices sharing the engine alone).
A failed action skips the rest of its container's actions and puts that container in backoff
(`PULL_BACKOFF`: 2 s doubling to 5 min, jittered), so neither the registry nor the server sees
a storm. Long polls double as the wait for the next retry. An unreachable server or engine is
waited out with `SERVER_BACKOFF` (1 s doubling to 1 min); the agent never acts on a desired
state it has not received, so a restart while the server is down leaves the containers alone.

A registry-auth call that fails because the server is down is the server's outage, not a
pull failure: the pass ends and the server backoff applies. A refused device token (401/403:
token revoked or re-issued, device deleted) is said once, naming the token file, and retried
slowly (`REJECTED_RETRY`) with the file read again each time. After a pull that did pull, the
desired state is checked again before anything is created: a deployment deleted while its
image was downloading must not get a container.

Registry auth is asked for just before the pull that needs it, passed to the engine and
dropped: it lives in one local variable of `_pull`, and is never logged, written or cached.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import TypeVar

from edgedock import wire
from edgedock.agent import plan as planning
from edgedock.agent.backoff import PULL_BACKOFF, SERVER_BACKOFF, BackoffPolicy, RetryBook
from edgedock.agent.engine import Engine, ManagedContainer, spec_hash
from edgedock.agent.errors import AgentError, EngineError, EngineUnavailable
from edgedock.agent.server_client import (
    ServerClient,
    ServerError,
    ServerProtocolError,
    ServerRejected,
    ServerUnavailable,
)
from edgedock.agent.status import StatusBook, status_of

log = logging.getLogger("edgedock.agent")

T = TypeVar("T")

DEFAULT_POLL_WAIT = 30.0
# How often a device whose token the server refuses tries again: slowly, since only an operator
# can fix it, but not never, since one may (a new token in the file, a restored device).
REJECTED_RETRY = 60.0


class _Interrupted(Exception):
    """Raised by the signal handler to cut a long poll or a sleep short."""


class Agent:
    """One device's agent: a server client and an engine, reconciled until `stop()`.

    ``clock``, ``sleep``, ``now`` and ``rand`` are injectable so that tests can run hours of
    backoff in simulated time.
    """

    def __init__(
        self,
        server: ServerClient,
        engine: Engine,
        *,
        poll_wait: float = DEFAULT_POLL_WAIT,
        pull_backoff: BackoffPolicy = PULL_BACKOFF,
        server_backoff: BackoffPolicy = SERVER_BACKOFF,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        rand: Callable[[], float] = random.random,
        rejected_retry: float = REJECTED_RETRY,
    ) -> None:
        self._server = server
        self._rejected_retry = rejected_retry
        self._rejected = False  # the server refused the token, and that was said
        self._engine_down = False  # the engine could not be reached, and that was said
        self._engine = engine
        self._poll_wait = poll_wait
        self._server_backoff = server_backoff
        self._clock = clock
        self._wakeup = threading.Event()
        self._sleep = sleep or self._wakeup.wait
        self._rand = rand
        self._retries: RetryBook[planning.Key] = RetryBook(pull_backoff, clock=clock, rand=rand)
        self._status = StatusBook(now=now)
        self._desired: wire.DesiredState | None = None
        self._etag: str | None = None
        self._outages = 0  # server or engine failures in a row
        self._engine_info: wire.EngineInfo | None = None
        self._stop_requested = False
        self._interruptible = False

    @property
    def desired(self) -> wire.DesiredState | None:
        return self._desired

    def stop(self) -> None:
        """Ask the loop to end; safe from another thread. A long poll in flight finishes first."""
        self._stop_requested = True
        self._wakeup.set()

    def handle_signal(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: end cleanly; a long poll or sleep is cut short, an engine call is not."""
        log.info("received %s, stopping", signal.Signals(signum).name)
        self._stop_requested = True
        if self._interruptible:
            raise _Interrupted

    def run(self) -> None:
        log.info("agent started")
        while not self._stop_requested:
            try:
                self.step()
            except Exception:
                # A bug must not take the device's agent down for good: log it, wait, go on.
                self._outages += 1
                delay = self._server_backoff.delay(self._outages, self._rand)
                log.exception("unexpected error in the reconcile loop; retrying in %.1f s", delay)
                self._idle(self._sleep, delay)
        if self._outages == 0:
            self._flush_report()
        log.info("agent stopped")

    def step(self) -> None:
        """One poll (waiting up to the poll wait, less when a retry is due) and one pass (or
        more, when the desired state changed under a pull)."""
        try:
            self._poll()
            self._accepted()
            while self._desired is not None and not self._stop_requested:
                if not self.reconcile(self._desired):
                    break
            self._outages = 0
            self._engine_answers()
        except ServerRejected as exc:
            self._refused(exc)
        except EngineUnavailable as exc:
            self._engine_info = None  # the engine may come back as another version
            self._outages += 1
            delay = self._server_backoff.delay(self._outages, self._rand)
            self._engine_unreachable(exc, delay)
            self._idle(self._sleep, delay)
        except ServerError as exc:
            self._outages += 1
            delay = self._server_backoff.delay(self._outages, self._rand)
            what = "server unavailable" if isinstance(exc, ServerUnavailable) else "failed"
            log.warning("%s: %s; retrying in %.1f s", what, exc, delay)
            self._idle(self._sleep, delay)

    def _engine_unreachable(self, exc: EngineUnavailable, delay: float) -> None:
        """Said once when the engine goes away, with the fix; its retries only at DEBUG."""
        if self._engine_down:
            log.debug("engine still unavailable: %s; retrying in %.1f s", exc, delay)
            return
        self._engine_down = True
        log.error(
            "%s. Is Docker or Podman running and serving its API there? --engine names the "
            "engine's socket (Docker: unix:///var/run/docker.sock, Podman: "
            "unix:///run/podman/podman.sock). Retrying with backoff up to %.0f s",
            exc,
            self._server_backoff.maximum,
        )

    def _engine_answers(self) -> None:
        if self._engine_down:
            self._engine_down = False
            log.info("the engine answers again")

    def _refused(self, exc: ServerRejected) -> None:
        if not self._rejected:
            self._rejected = True
            log.error(
                "%s. The token was revoked or re-issued, or the device was deleted: put a valid "
                "token in the token file; trying again every %.0f s",
                exc,
                self._rejected_retry,
            )
        else:
            log.debug("still refused: %s", exc)
        self._idle(self._sleep, self._rejected_retry)
        if self._server.reload_token():
            log.info("the token file changed; trying the new token")

    def _accepted(self) -> None:
        if self._rejected:
            self._rejected = False
            log.info("the server accepts this device's token again")

    def reconcile(self, desired: wire.DesiredState) -> bool:
        """Make the engine match ``desired`` and report; True when the pass stopped because the
        desired state changed during a pull (plan again). Raises `EngineUnavailable`, and
        `ServerUnavailable` or `ServerRejected` when the server fails a call mid-pass."""
        if self._engine_info is None:
            self._engine_info = self._engine.info()
            log.info("engine: %s %s", self._engine_info.name, self._engine_info.version)
            self._status.set_engine(self._engine_info)
        specs = {(d.id, c.id): (d, c) for d in desired.deployments for c in d.containers}
        actions = planning.plan(desired, self._engine.managed_containers())
        failed: set[planning.Key] = set()  # failed now, or waiting for their next try
        for action in actions:
            if self._stop_requested:
                return False  # the next start plans again from what the engine holds
            key = (action.deployment_id, action.container_id)
            token = spec_hash(specs[key][1]) if key in specs else ""
            if key in failed or not self._retries.ready(key, token):
                failed.add(key)
                continue
            try:
                pulled = self._execute(action, specs[key][0] if key in specs else None)
            except (EngineUnavailable, ServerUnavailable, ServerRejected):
                raise
            except (EngineError, ServerError) as exc:
                failed.add(key)
                self._failed(action, key, token, str(exc))
                continue
            if pulled and self._changed_during_pull():
                self._flush_report()
                return True
        planned = {(a.deployment_id, a.container_id) for a in actions}
        for key in (planned | specs.keys()) - failed:
            self._retries.succeeded(key)
        self._retries.keep_only(specs.keys() | failed)
        mine = planning.owned_by(self._engine.managed_containers(), desired.device_id)
        self._update_statuses(specs, mine)
        wanted = {d.id for d in desired.deployments}
        self._status.set_running([m for m in mine if m.deployment_id in wanted])
        self._flush_report()
        return False

    def _changed_during_pull(self) -> bool:
        """Ask the server, without waiting, whether the desired state moved on meanwhile."""
        update = self._server.desired_state(etag=self._etag, wait=0)
        if update is None or update.state == self._desired:
            return False
        log.info("the desired state changed during the pull; planning again")
        self._desired, self._etag = update.state, update.etag
        return True

    def _poll(self) -> None:
        wait = self._poll_wait
        due = self._retries.next_due()
        if due is not None:
            wait = min(wait, max(0.0, due - self._clock()))
        update = self._idle(self._server.desired_state, etag=self._etag, wait=wait)
        if update is not None:
            if self._desired is None or update.state != self._desired:
                count = sum(len(d.containers) for d in update.state.deployments)
                log.info(
                    "desired state: %d deployments, %d containers",
                    len(update.state.deployments),
                    count,
                )
            self._desired, self._etag = update.state, update.etag

    def _execute(self, action: planning.Action, deployment: wire.DeploymentSpec | None) -> bool:
        """Do one action; True when it was a pull that really downloaded.

        ``deployment`` is the desired deployment the action works towards, if any."""
        key = (action.deployment_id, action.container_id)
        match action:
            case planning.Pull():
                return self._pull(action)
            case planning.Create():
                log.info("creating %s (%s)", action.name, action.spec.image)
                self._engine.create(
                    action.spec,
                    device_id=action.device_id,
                    deployment_id=action.deployment_id,
                    name=action.name,
                    spec_hash=action.spec_hash,
                    release_id=deployment.release_id if deployment else None,
                    version=deployment.version if deployment else None,
                )
                self._status.event(key, "created", f"created container {action.name}")
            case planning.Start():
                log.info("starting %s", action.target)
                self._engine.start(action.target)
                self._status.event(key, "started", f"started container {action.target}")
            case planning.Stop():
                log.info("stopping %s", action.target)
                self._engine.stop(action.target)
                self._status.event(key, "stopped", f"stopped container {action.target}")
            case planning.Remove():
                log.info("removing %s (%s)", action.name or action.target, action.reason)
                self._engine.remove(action.target)
                if deployment is not None:
                    message = f"removed container {action.name} ({action.reason})"
                    self._status.event(key, "removed", message)
        return False

    def _pull(self, action: planning.Pull) -> bool:
        key = (action.deployment_id, action.container_id)
        # An image that needs credentials is pulled for every create, even when it is present:
        # the registry then checks the credentials again, so deleted credentials stop new
        # deployments of an image that an earlier one left on the device.
        if not action.needs_credentials and self._engine.image_present(action.image):
            return False
        if self._retries.failure(key) is None:
            # A retry keeps showing the last error rather than flipping to pulling and back,
            # which would put two status events per attempt on the timeline.
            self._status.set(key, "pulling")
            self._flush_report()
        x_registry_auth: str | None = None
        if action.needs_credentials:
            log.info("asking the server for registry auth to pull %s", action.image)
            x_registry_auth = self._server.registry_auth(
                deployment_id=action.deployment_id, container_id=action.container_id
            ).x_registry_auth
        log.info("pulling %s", action.image)
        try:
            self._engine.pull(action.image, x_registry_auth=x_registry_auth)
        finally:
            x_registry_auth = None  # used for this one pull only
        self._status.event(key, "pulled", f"pulled {action.image}")
        return True

    def _failed(self, action: planning.Action, key: planning.Key, token: str, message: str) -> None:
        delay = self._retries.failed(key, token, message)
        kind = type(action).__name__.lower()
        log.warning("%s failed for %s/%s: %s; next try in %.1f s", kind, *key, message, delay)
        if token:
            self._status.event(key, f"{kind}_failed", message)

    def _update_statuses(
        self,
        specs: dict[planning.Key, tuple[wire.DeploymentSpec, wire.ContainerSpec]],
        actual: list[ManagedContainer],
    ) -> None:
        found: dict[planning.Key, ManagedContainer] = {}
        for managed in actual:
            key = (managed.deployment_id, managed.container_id)
            if key in specs and (
                specs[key][0].desired == "stopped" or managed.spec_hash == spec_hash(specs[key][1])
            ):
                found[key] = managed
        for key, (deployment, _) in specs.items():
            failure = self._retries.failure(key)
            if failure is not None:
                self._status.set(key, "error", failure.message)
            elif key in found:
                self._status.set(key, status_of(found[key].state))
            else:
                self._status.set(key, "stopped" if deployment.desired == "stopped" else "pending")
        self._status.keep_only(specs.keys())

    def _flush_report(self) -> None:
        report = self._status.pending()
        if report is None:
            return
        try:
            self._server.report_status(report)
        except ServerProtocolError as exc:
            # The server will not take this report however often it is sent: drop it.
            log.warning("the server refused a status report: %s", exc)
        except ServerError as exc:
            log.warning("status report not delivered, kept for later: %s", exc)
            return
        self._status.delivered(report)

    def _idle(self, call: Callable[..., T], *args: object, **kwargs: object) -> T | None:
        """Run a call that only waits (long poll, sleep) so that a signal may cut it short."""
        try:
            try:
                self._interruptible = True
                if self._stop_requested:
                    return None
                return call(*args, **kwargs)
            finally:
                self._interruptible = False
        except _Interrupted:
            return None


def run_until_signalled(agent: Agent) -> None:
    """Run ``agent`` in the main thread until SIGTERM or SIGINT, then restore the handlers."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, agent.handle_signal)
    try:
        agent.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


__all__ = ["DEFAULT_POLL_WAIT", "Agent", "AgentError", "run_until_signalled"]
