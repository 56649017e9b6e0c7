"""`plan` is pure: desired state and managed containers in, actions out; these tests need no engine.

`_apply` plays the actions on a list of containers the way the engine would, so that every
scenario also checks that planning again after executing yields nothing.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable

import pytest

from edgedock import wire
from edgedock.agent.engine import ManagedContainer, spec_hash
from edgedock.agent.plan import (
    Action,
    Create,
    Pull,
    Remove,
    Start,
    Stop,
    container_name,
    owned_by,
    plan,
)

DEP = "0b5d3c1e-8f7a-4c2b-9d1e-3f4a5b6c7d8e"
OTHER_DEP = "7aa1c0de-1111-4222-8333-944455566677"
DEVICE = "dev-1"
OTHER_DEVICE = "dev-2"
_ids = itertools.count(1)


def spec(name: str = "web", cid: str = "c-web", **changes: object) -> wire.ContainerSpec:
    fields: dict[str, object] = {
        "id": cid,
        "name": name,
        "image": "localhost:5055/team/app:1.0",
        "needs_credentials": True,
    }
    fields.update(changes)
    return wire.ContainerSpec.model_validate(fields)


def deployment(
    *containers: wire.ContainerSpec, dep: str = DEP, desired: wire.DesiredRun = "started"
) -> wire.DeploymentSpec:
    return wire.DeploymentSpec(
        id=dep,
        release_id="r-1",
        application="app",
        version="1.0.0",
        desired=desired,
        containers=list(containers),
    )


def state(*deployments: wire.DeploymentSpec) -> wire.DesiredState:
    return wire.DesiredState(device_id=DEVICE, deployments=list(deployments))


def managed(
    container: wire.ContainerSpec,
    *,
    dep: str = DEP,
    state: str = "running",
    name: str | None = None,
    digest: str | None = None,
    device: str | None = DEVICE,
) -> ManagedContainer:
    return ManagedContainer(
        device_id=device,
        deployment_id=dep,
        container_id=container.id,
        spec_hash=spec_hash(container) if digest is None else digest,
        engine_id=f"engine-{next(_ids):04d}",
        name=container_name(dep, container.name) if name is None else name,
        state=state,
    )


def _apply(actions: Iterable[Action], actual: list[ManagedContainer]) -> list[ManagedContainer]:
    """What the engine looks like after the actions (names are unique, as in the engine)."""
    containers = {m.engine_id: m for m in actual}

    def find(target: str) -> str:
        return next(i for i, m in containers.items() if target in (i, m.name))

    for action in actions:
        if isinstance(action, Create):
            assert all(m.name != action.name for m in containers.values()), "name conflict"
            engine_id = f"engine-{next(_ids):04d}"
            containers[engine_id] = ManagedContainer(
                device_id=action.device_id,
                deployment_id=action.deployment_id,
                container_id=action.container_id,
                spec_hash=action.spec_hash,
                engine_id=engine_id,
                name=action.name,
                state="created",
            )
        elif isinstance(action, Start | Stop):
            engine_id = find(action.target)
            new_state = "running" if isinstance(action, Start) else "exited"
            containers[engine_id] = dataclasses.replace(containers[engine_id], state=new_state)
        elif isinstance(action, Remove):
            del containers[find(action.target)]
    return list(containers.values())


def _converges(desired: wire.DesiredState, actual: list[ManagedContainer]) -> list[Action]:
    actions = plan(desired, actual)
    after = _apply(actions, actual)
    assert plan(desired, after) == []
    keys = [(m.deployment_id, m.container_id) for m in owned_by(after, desired.device_id)]
    assert len(keys) == len(set(keys)), "duplicate containers"
    return actions


def test_plan_fresh_deploy_pulls_creates_and_starts() -> None:
    web, db = spec(), spec("db", "c-db", image="docker.io/library/redis:7", needs_credentials=False)
    actions = _converges(state(deployment(web, db)), [])
    name = container_name(DEP, "web")
    assert actions == [
        Pull(DEP, "c-web", web.image, True),
        Create(DEP, "c-web", web, name, spec_hash(web), DEVICE),
        Start(DEP, "c-web", name),
        Pull(DEP, "c-db", db.image, False),
        Create(DEP, "c-db", db, container_name(DEP, "db"), spec_hash(db), DEVICE),
        Start(DEP, "c-db", container_name(DEP, "db")),
    ]


def test_plan_converged_state_yields_no_actions() -> None:
    web = spec()
    assert plan(state(deployment(web)), [managed(web)]) == []


def test_plan_empty_desired_state_removes_every_managed_container() -> None:
    web = spec()
    running = managed(web)
    actions = _converges(state(), [running])
    assert actions == [Remove(DEP, "c-web", running.engine_id, running.name, "no longer desired")]


def test_plan_changed_spec_pulls_before_removing_old_container() -> None:
    old, new = spec(), spec(env={"MODE": "new"})
    running = managed(old)
    actions = _converges(state(deployment(new)), [running])
    name = container_name(DEP, "web")
    assert actions == [
        Pull(DEP, "c-web", new.image, True),
        Remove(DEP, "c-web", running.engine_id, running.name, "upgrade"),
        Create(DEP, "c-web", new, name, spec_hash(new), DEVICE),
        Start(DEP, "c-web", name),
    ]


def test_plan_upgrade_to_new_release_replaces_container_of_same_name() -> None:
    old = spec(cid="c-web-r1")
    new = spec(cid="c-web-r2", image="localhost:5055/team/app:2.0")
    running = managed(old)
    actions = _converges(state(deployment(new)), [running])
    assert [type(a) for a in actions] == [Pull, Remove, Create, Start]
    removal = actions[1]
    assert isinstance(removal, Remove)
    # the removal belongs to the new container's group: a failed pull skips it
    assert (removal.deployment_id, removal.container_id) == (DEP, "c-web-r2")
    assert removal.target == running.engine_id


def test_plan_removed_container_of_release_is_removed_first() -> None:
    web, worker = spec(), spec("worker", "c-worker")
    kept, gone = managed(web), managed(worker)
    actions = _converges(state(deployment(web)), [kept, gone])
    assert actions == [Remove(DEP, "c-worker", gone.engine_id, gone.name, "no longer desired")]


def test_plan_deleted_deployment_removes_only_its_containers() -> None:
    web = spec()
    mine, theirs = managed(web), managed(web, dep=OTHER_DEP)
    actions = _converges(state(deployment(web)), [mine, theirs])
    assert actions == [
        Remove(OTHER_DEP, "c-web", theirs.engine_id, theirs.name, "no longer desired")
    ]


def test_plan_stopped_deployment_stops_running_container() -> None:
    web = spec()
    running = managed(web)
    actions = _converges(state(deployment(web, desired="stopped")), [running])
    assert actions == [Stop(DEP, "c-web", running.engine_id)]


@pytest.mark.parametrize("engine_state", ["exited", "created", "stopped"])
def test_plan_stopped_deployment_leaves_stopped_container(engine_state: str) -> None:
    web = spec()
    assert plan(state(deployment(web, desired="stopped")), [managed(web, state=engine_state)]) == []


def test_plan_stopped_deployment_pulls_and_creates_nothing() -> None:
    assert _converges(state(deployment(spec(), desired="stopped")), []) == []


def test_plan_stopped_deployment_with_old_spec_stops_without_upgrading() -> None:
    old, new = spec(), spec(env={"MODE": "new"})
    running = managed(old)
    actions = _converges(state(deployment(new, desired="stopped")), [running])
    assert actions == [Stop(DEP, "c-web", running.engine_id)]


@pytest.mark.parametrize("engine_state", ["created", "exited", "stopped", "dead"])
def test_plan_started_deployment_starts_container_not_running(engine_state: str) -> None:
    web = spec()
    left = managed(web, state=engine_state)
    assert _converges(state(deployment(web)), [left]) == [Start(DEP, "c-web", left.engine_id)]


@pytest.mark.parametrize("engine_state", ["running", "restarting", "paused"])
def test_plan_started_deployment_leaves_running_container(engine_state: str) -> None:
    web = spec()
    assert plan(state(deployment(web)), [managed(web, state=engine_state)]) == []


def test_plan_container_left_created_by_killed_run_is_started_not_recreated() -> None:
    web = spec()
    left = managed(web, state="created")
    actions = _converges(state(deployment(web)), [left])
    assert actions == [Start(DEP, "c-web", left.engine_id)]
    assert not any(isinstance(a, Create | Pull) for a in actions)


def test_plan_duplicates_keep_one_and_remove_the_rest() -> None:
    web = spec()
    stray = managed(web, name="edgedock-web-stray", state="running")
    proper = managed(web, state="exited")
    actions = _converges(state(deployment(web)), [stray, proper])
    # the one with the deterministic name is kept, even when it is not the running one
    assert actions == [
        Remove(DEP, "c-web", stray.engine_id, stray.name, "duplicate"),
        Start(DEP, "c-web", proper.engine_id),
    ]


def test_plan_duplicates_of_stopped_deployment_keep_one() -> None:
    web = spec()
    a, b = managed(web, state="exited", name="x-1"), managed(web, state="running", name="x-2")
    actions = _converges(state(deployment(web, desired="stopped")), [a, b])
    assert actions == [
        Remove(DEP, "c-web", a.engine_id, a.name, "duplicate"),
        Stop(DEP, "c-web", b.engine_id),
    ]


def test_plan_current_and_stale_copies_keep_current() -> None:
    old, new = spec(), spec(env={"MODE": "new"})
    stale = managed(old, name="edgedock-web-old")
    current = managed(new)
    actions = _converges(state(deployment(new)), [stale, current])
    assert actions == [Remove(DEP, "c-web", stale.engine_id, stale.name, "upgrade")]


def test_plan_container_listed_twice_is_planned_once() -> None:
    web = spec()
    actions = _converges(state(deployment(web, web)), [])
    assert [type(a) for a in actions] == [Pull, Create, Start]


def test_plan_unlabelled_leftover_is_removed() -> None:
    broken = ManagedContainer(None, "", "", "", "engine-x", "edgedock-broken", "exited")
    assert _converges(state(), [broken]) == [
        Remove("", "", "engine-x", "edgedock-broken", "no longer desired")
    ]


def test_plan_leaves_containers_of_other_device_alone() -> None:
    web, old = spec(), spec(env={"MODE": "old"})
    # Another device's containers: one of a deployment this device does not know, one of ours
    # under the same key (a stale spec, no less), one with our container's very name.
    elsewhere = managed(web, dep=OTHER_DEP, device=OTHER_DEVICE)
    same_key = managed(old, name="edgedock-web-theirs", device=OTHER_DEVICE, state="exited")
    same_name = managed(spec(cid="c-theirs"), dep=OTHER_DEP, device=OTHER_DEVICE, name="x")
    theirs = [elsewhere, same_key, same_name]

    assert _converges(state(), theirs) == []
    assert _converges(state(deployment(web, desired="stopped")), theirs) == []
    actions = _converges(state(deployment(web)), theirs)
    assert [type(a) for a in actions] == [Pull, Create, Start]
    create = actions[1]
    assert isinstance(create, Create) and create.device_id == DEVICE


def test_plan_adopts_managed_containers_without_device_label() -> None:
    web, worker, db = spec(), spec("worker", "c-worker"), spec("db", "c-db")
    current = managed(web, device=None, state="exited")
    stale = managed(worker, device=None, digest="from-release-1")
    gone = managed(db, dep=OTHER_DEP, device=None)

    actions = _converges(state(deployment(web, worker)), [current, stale, gone])

    # as a labelled container would be: started, upgraded or removed; never duplicated
    assert [type(a) for a in actions] == [Remove, Start, Pull, Remove, Create, Start]
    assert actions[0] == Remove(OTHER_DEP, "c-db", gone.engine_id, gone.name, "no longer desired")
    assert actions[1] == Start(DEP, "c-web", current.engine_id)
    assert actions[3] == Remove(DEP, "c-worker", stale.engine_id, stale.name, "upgrade")


def test_owned_by_keeps_own_and_unlabelled_containers() -> None:
    web = spec()
    mine, legacy = managed(web), managed(web, device=None)
    theirs = managed(web, device=OTHER_DEVICE)
    assert owned_by([mine, theirs, legacy], DEVICE) == [mine, legacy]
    assert owned_by([mine, theirs, legacy], OTHER_DEVICE) == [theirs, legacy]


def test_plan_two_deployments_of_same_release_get_distinct_names() -> None:
    web = spec()
    actions = _converges(state(deployment(web), deployment(web, dep=OTHER_DEP)), [])
    names = [a.name for a in actions if isinstance(a, Create)]
    assert len(set(names)) == 2


def test_plan_is_deterministic_for_any_order_of_actual() -> None:
    web, db = spec(), spec("db", "c-db")
    actual = [managed(web, state="exited"), managed(db, dep=OTHER_DEP), managed(db)]
    desired = state(deployment(web, db))
    assert plan(desired, actual) == plan(desired, list(reversed(actual)))


def test_container_name_is_deterministic_and_engine_safe() -> None:
    assert container_name(DEP, "web") == "edgedock-web-0b5d3c1e"
    assert container_name("a/b c", "we b") == "edgedock-we-b-abc"
    assert container_name("---", "web") == "edgedock-web-x"
