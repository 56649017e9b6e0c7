"""What the agent must do to make the engine match the desired state: pure, no I/O.

`plan(desired, actual)` compares the server's desired state with the managed containers the
engine reports (rebuilt from their labels) and returns the actions that close the gap, in the
order they must run. Executing them and planning again yields no action: the agent converges
and never creates a duplicate, even after a crash at any point of a previous run.

Agents of several devices may share one engine. `plan` considers only the containers of the
desired state's device (`owned_by`): those labelled with its device id, and managed containers
with no device label at all, made by an agent older than that label and adopted as its own.
A container labelled with another device id is never stopped, started or removed.

Rules, per desired container (a deployment id and a container id, its *key*):
- Exactly one managed container may carry a key. Extra ones (left over from a killed run, or
  made by hand with our labels) are removed; the one kept is the one whose spec hash matches,
  preferring our deterministic name, then a running one.
- A started deployment whose container is missing or has another spec hash gets Pull, then the
  removal of the stale container, then Create and Start. The old container keeps running while
  the new image is pulled, so a failed pull of an upgrade leaves the old release running.
- A started deployment's container that is not running (created and never started because a
  run was killed, stopped by hand, or exited) is started: "started" means running, as for a
  supervisor; the restart policy only decides what the engine does between two passes.
- A stopped deployment's containers are stopped, whatever their spec hash; nothing is pulled
  or created for it (the upgrade happens when it is started again).
- Managed containers whose deployment or container is no longer desired are removed.

Every action carries the key of the desired container it works towards (`deployment_id`,
`container_id`); removals of unwanted containers carry their own labels. When an action fails,
the loop skips the rest of that key's actions in the same pass.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from edgedock import wire
from edgedock.agent.engine import ManagedContainer, spec_hash

Key = tuple[str, str]  # (deployment_id, container_id)

NAME_PREFIX = "edgedock-"
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")
_ID_UNSAFE = re.compile(r"[^a-zA-Z0-9]")
# The engine's words for a container that is running, about to run again, or was paused by
# someone on purpose: a started deployment leaves these alone, a stopped one stops them.
RUNNING_STATES = frozenset({"running", "restarting", "paused"})


@dataclass(frozen=True)
class Pull:
    deployment_id: str
    container_id: str
    image: str
    needs_credentials: bool


@dataclass(frozen=True)
class Create:
    deployment_id: str
    container_id: str
    spec: wire.ContainerSpec
    name: str
    spec_hash: str
    device_id: str  # labelled on the container, which marks it as this device's


@dataclass(frozen=True)
class Start:
    deployment_id: str
    container_id: str
    target: str  # engine id, or the name of a container created earlier in the same plan


@dataclass(frozen=True)
class Stop:
    deployment_id: str
    container_id: str
    target: str


@dataclass(frozen=True)
class Remove:
    deployment_id: str
    container_id: str
    target: str
    name: str
    reason: str  # for the log and the timeline: "upgrade", "duplicate", "no longer desired"


Action = Pull | Create | Start | Stop | Remove


def container_name(deployment_id: str, container: str) -> str:
    """The engine name of a container: `edgedock-<container name>-<deployment id[:8]>`.

    Deterministic, so a second create of the same container fails on the name instead of
    making a duplicate. Characters the engine refuses in names are replaced.
    """
    short = _ID_UNSAFE.sub("", deployment_id)[:8] or "x"
    return f"{NAME_PREFIX}{_NAME_UNSAFE.sub('-', container)}-{short}"


def owned_by(actual: Iterable[ManagedContainer], device_id: str) -> list[ManagedContainer]:
    """The containers of ``device_id``: labelled with it, or with no device label (adopted).

    Adopting unlabelled containers keeps an upgraded agent in charge of what it made before
    the label existed. Such a container keeps no label until it is replaced (an engine cannot
    relabel a container), so on an engine shared with another device each agent sees it as its
    own, exactly as both did before this label.
    """
    return [m for m in actual if m.device_id is None or m.device_id == device_id]


def plan(desired: wire.DesiredState, actual: Iterable[ManagedContainer]) -> list[Action]:
    """The actions that make the engine match ``desired``, in the order they must run.

    ``actual`` may hold everything the engine lists: containers of other devices are ignored.
    """
    by_key: defaultdict[Key, list[ManagedContainer]] = defaultdict(list)
    mine = owned_by(actual, desired.device_id)
    for managed in sorted(mine, key=lambda m: m.engine_id):  # the same plan for any order
        by_key[(managed.deployment_id, managed.container_id)].append(managed)

    groups: list[list[Action]] = []
    seen: set[Key] = set()
    for deployment in desired.deployments:
        for spec in deployment.containers:
            key = (deployment.id, spec.id)
            if key in seen:
                continue  # a container listed twice in the desired state is planned once
            seen.add(key)
            candidates = by_key.pop(key, [])
            if deployment.desired == "stopped":
                groups.append(_plan_stopped(key, candidates))
            else:
                groups.append(_plan_started(key, spec, candidates, desired.device_id))

    # What is left in by_key is wanted by no deployment. On an upgrade to another release the
    # container id changes but the engine name stays: such a container is removed inside the
    # new container's group, after its Pull, so that it runs until the new image is there.
    holders = {m.name: m for leftovers in by_key.values() for m in leftovers if m.name}
    claimed: set[str] = set()
    for group in groups:
        for index, action in enumerate(group):
            if isinstance(action, Create) and action.name in holders:
                old = holders.pop(action.name)
                group.insert(index, _remove(_key(action), old, "upgrade"))
                claimed.add(old.engine_id)
                break
    first: list[Action] = [
        _remove(key, m, "no longer desired")
        for key, leftovers in sorted(by_key.items())
        for m in leftovers
        if m.engine_id not in claimed
    ]
    return first + [action for group in groups for action in group]


def _key(action: Action) -> Key:
    return (action.deployment_id, action.container_id)


def _plan_stopped(key: Key, candidates: list[ManagedContainer]) -> list[Action]:
    if not candidates:
        return []
    keep, *extra = sorted(candidates, key=lambda m: (m.state not in RUNNING_STATES, m.engine_id))
    actions: list[Action] = [_remove(key, m, "duplicate") for m in extra]
    if keep.state in RUNNING_STATES:
        actions.append(Stop(key[0], key[1], keep.engine_id))
    return actions


def _plan_started(
    key: Key, spec: wire.ContainerSpec, candidates: list[ManagedContainer], device_id: str
) -> list[Action]:
    name = container_name(key[0], spec.name)
    digest = spec_hash(spec)
    current = [m for m in candidates if m.spec_hash == digest]
    stale = [m for m in candidates if m.spec_hash != digest]
    current.sort(key=lambda m: (m.name != name, m.state not in RUNNING_STATES, m.engine_id))
    if current:
        keep, *extra = current
        actions: list[Action] = [_remove(key, m, "duplicate") for m in extra]
        actions += [_remove(key, m, "upgrade") for m in stale]
        if keep.state not in RUNNING_STATES:
            actions.append(Start(key[0], key[1], keep.engine_id))
        return actions
    return [
        Pull(key[0], key[1], spec.image, spec.needs_credentials),
        *(_remove(key, m, "upgrade") for m in stale),
        Create(key[0], key[1], spec, name, digest, device_id),
        Start(key[0], key[1], name),
    ]


def _remove(key: Key, managed: ManagedContainer, reason: str) -> Remove:
    return Remove(key[0], key[1], managed.engine_id, managed.name, reason)
