"""The device API's hot path: what an idle poll costs, and the stored projection staying true."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from edgedock.db import Database
from edgedock.device_api import projection
from edgedock.notify import LocalNotifier
from edgedock.read import desired_state
from edgedock.server.app import create_app
from tests import factories
from tests.deployments import fleet


@contextmanager
def counted_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements (not BEGIN/PRAGMA plumbing) run on `engine` inside the block."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().split(None, 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def _poll(agent, etag: str | None = None, wait: float = 0):  # type: ignore[no-untyped-def]
    headers = {"If-None-Match": etag} if etag else {}
    return await agent.get("/device/v1/desired-state", params={"wait": wait}, headers=headers)


async def test_idle_poll_runs_only_the_token_lookup_cold_and_no_query_warm(
    api, app, settings, database, keyring, engine
):
    creds, _, release = await fleet.private_release(api)
    device = await fleet.device(api, "gw-idle")
    await fleet.deploy(api, release["id"], device["id"])
    async with fleet.device_client(app, device["token"]) as agent:
        etag = (await _poll(agent)).headers["etag"]
    # A replica that has never seen this device: its first 304 costs the token lookup alone.
    cold = create_app(settings, database=database, keyring=keyring, notifier=LocalNotifier())
    async with fleet.device_client(cold, device["token"]) as agent:
        with counted_statements(engine) as first:
            assert (await _poll(agent, etag)).status_code == 304
        with counted_statements(engine) as second:
            assert (await _poll(agent, etag)).status_code == 304
            assert (await agent.get("/device/v1/ping")).status_code == 204
    assert len(first) == 1 and "FROM device" in first[0], first
    assert second == [], "a warm idle poll or ping must not touch the database"


async def test_a_changed_state_is_read_from_the_projection_in_one_query(api, app, engine):
    _, _, release = await fleet.private_release(api)
    device = await fleet.device(api, "gw-one-read")
    async with fleet.device_client(app, device["token"]) as agent:
        etag = (await _poll(agent)).headers["etag"]
        await fleet.deploy(api, release["id"], device["id"])
        with counted_statements(engine) as statements:
            response = await _poll(agent, etag)
    assert response.status_code == 200 and response.headers["etag"] != etag
    assert len(statements) == 1 and "device_desired_state" in statements[0], statements


async def _assert_projection_fresh(database, app, token: str, device_id: str) -> None:  # type: ignore[no-untyped-def]
    """The stored projection, and what the device is served, equal a build from scratch."""
    async with database.transaction() as session:
        built = await desired_state.build(session, [uuid.UUID(device_id)])
        stored = await projection.read(session, uuid.UUID(device_id))
    expected = desired_state.serialize(built[uuid.UUID(device_id)])
    assert stored == expected
    async with fleet.device_client(app, token) as agent:
        served = await _poll(agent)
    assert (served.text, served.headers["etag"]) == expected


async def test_projection_equals_a_build_from_scratch_after_every_kind_of_change(
    api, app, database
):
    creds, application, v1 = await fleet.private_release(api)
    v2 = await factories.release(
        api,
        application["id"],
        version="1.1.0",
        containers=[
            factories.container(
                "app", "localhost:5055/team/app:1.1", image_credentials_id=creds["id"]
            )
        ],
    )
    other = await factories.release(api, (await factories.application(api))["id"])
    device = await fleet.device(api, "gw-projected")
    token, device_id = device["token"], device["id"]
    await _assert_projection_fresh(database, app, token, device_id)  # nothing deployed yet

    deployment = await fleet.deploy(api, v1["id"], device_id)
    await _assert_projection_fresh(database, app, token, device_id)
    for action in ("stop", "start"):
        response = await api.post(f"/api/v1/deployments/{deployment['id']}/{action}")
        assert response.status_code == 200, response.text
        await _assert_projection_fresh(database, app, token, device_id)
    response = await api.post(
        f"/api/v1/deployments/{deployment['id']}/upgrade", json={"release_id": v2["id"]}
    )
    assert response.status_code == 200, response.text
    await _assert_projection_fresh(database, app, token, device_id)
    bulk = await api.post(
        "/api/v1/deployments/bulk", json={"release_id": other["id"], "device_ids": [device_id]}
    )
    assert bulk.status_code == 201, bulk.text
    await _assert_projection_fresh(database, app, token, device_id)
    assert (await api.delete(f"/api/v1/releases/{v1['id']}")).status_code == 204
    await _assert_projection_fresh(database, app, token, device_id)
    response = await api.delete(f"/api/v1/image-credentials/{creds['id']}", params={"force": True})
    assert response.status_code == 204, response.text
    await _assert_projection_fresh(database, app, token, device_id)
    assert (await api.delete(f"/api/v1/deployments/{deployment['id']}")).status_code == 204
    await _assert_projection_fresh(database, app, token, device_id)

    assert (await api.delete(f"/api/v1/devices/{device_id}")).status_code == 204
    async with database.transaction() as session:
        assert await projection.etags(session, [uuid.UUID(device_id)]) == {}


async def test_deleting_a_device_answers_its_parked_poll_with_401(api, app):
    device = await fleet.device(api, "gw-deleted-while-parked")
    async with fleet.device_client(app, device["token"]) as agent:
        etag = (await _poll(agent)).headers["etag"]
        parked = asyncio.create_task(_poll(agent, etag, wait=30))
        await asyncio.sleep(0.2)
        assert not parked.done()
        assert (await api.delete(f"/api/v1/devices/{device['id']}")).status_code == 204
        # A bound only against a hang: the answer comes at the commit, not after the wait.
        response = await asyncio.wait_for(parked, timeout=20)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "device_token_invalid"
        assert (await agent.get("/device/v1/ping")).status_code == 401


async def test_a_stopping_server_answers_parked_polls_at_once(api, app):
    device = await fleet.device(api, "gw-shutdown")
    async with fleet.device_client(app, device["token"]) as agent:
        etag = (await _poll(agent)).headers["etag"]
        parked = asyncio.create_task(_poll(agent, etag, wait=30))
        await asyncio.sleep(0.2)
        app.state.edgedock.fleet.close()
        response = await asyncio.wait_for(parked, timeout=20)
    assert response.status_code == 304 and response.headers["etag"] == etag


async def test_polls_record_last_seen_in_batches(api, app):
    device = await fleet.device(api, "gw-seen")
    state = app.state.edgedock
    async with fleet.device_client(app, device["token"]) as agent:
        await agent.get("/device/v1/ping")  # first sighting: written at once
        first = (await api.get(f"/api/v1/devices/{device['id']}")).json()["last_seen_at"]
        assert first is not None
        await asyncio.sleep(0.01)
        await agent.get("/device/v1/ping")  # later ones wait for the batch
        assert (await api.get(f"/api/v1/devices/{device['id']}")).json()["last_seen_at"] == first
        from edgedock.device_api.seen import SeenWriter

        await SeenWriter(state.database, state.fleet).flush()
    later = (await api.get(f"/api/v1/devices/{device['id']}")).json()["last_seen_at"]
    assert later > first


async def test_warm_requests_that_are_not_plain_polls_get_the_full_validation(api, app):
    device = await fleet.device(api, "gw-odd-queries")
    async with fleet.device_client(app, device["token"]) as agent:
        assert (await agent.get("/device/v1/ping")).status_code == 204  # the device is warm
        for query in ("wait=abc", "wait=-1", "wait=1e9", "wait=nan"):
            response = await agent.get(f"/device/v1/desired-state?{query}")
            assert response.status_code == 422, query
            assert response.json()["error"]["field"] == "wait", query
        unknown = await agent.get(
            "/device/v1/desired-state", headers={"Authorization": "Bearer edd_unknown"}
        )
        assert unknown.status_code == 401 and unknown.json()["error"]["code"]


async def test_polls_woken_together_read_their_bodies_in_one_query(database_url):
    database = Database.connect(database_url)  # real connections: the reads run concurrently
    try:
        reader = projection.BodyReader(database)
        device_ids = [uuid.uuid4() for _ in range(25)]
        with counted_statements(database.engine) as statements:
            answers = await asyncio.gather(*(reader.read(d) for d in device_ids))
    finally:
        await database.dispose()
    # Devices without a row have nothing deployed: each gets its own empty state.
    assert answers == [desired_state.serialize(desired_state.empty(d)) for d in device_ids]
    reads = [s for s in statements if "device_desired_state" in s]
    assert len(reads) == 1, reads


async def _registry_auth(agent, deployment, release, name="app"):  # type: ignore[no-untyped-def]
    container = next(c for c in release["containers"] if c["name"] == name)
    return await agent.post(
        "/device/v1/registry-auth",
        json={"deployment_id": deployment["id"], "container_id": container["id"]},
    )


async def test_repeated_registry_auth_reads_no_pull_target_but_audits_each(api, app, engine):
    _, _, release = await fleet.private_release(api)
    device = await fleet.device(api, "gw-cached-auth")
    deployment = await fleet.deploy(api, release["id"], device["id"])
    async with fleet.device_client(app, device["token"]) as agent:
        assert (await _registry_auth(agent, deployment, release)).status_code == 200
        with counted_statements(engine) as statements:
            assert (await _registry_auth(agent, deployment, release)).status_code == 200
    assert not [s for s in statements if "release_container" in s], statements
    assert len([s for s in statements if s.startswith("INSERT INTO audit_event")]) == 1


async def test_a_cached_pull_target_is_dropped_when_its_credentials_are_deleted(api, app):
    creds, _, release = await fleet.private_release(api)
    device = await fleet.device(api, "gw-cached-then-deleted")
    deployment = await fleet.deploy(api, release["id"], device["id"])
    async with fleet.device_client(app, device["token"]) as agent:
        assert (await _registry_auth(agent, deployment, release)).status_code == 200
        deleted = await api.delete(
            f"/api/v1/image-credentials/{creds['id']}", params={"force": True}
        )
        assert deleted.status_code == 204, deleted.text
        response = await _registry_auth(agent, deployment, release)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "credentials_deleted"


async def test_a_cached_pull_target_is_dropped_when_the_deployment_moves_on(api, app):
    creds, application, v1 = await fleet.private_release(api)
    v2 = await factories.release(
        api,
        application["id"],
        version="2.0.0",
        containers=[factories.container("other", "busybox:1.36")],
    )
    device = await fleet.device(api, "gw-cached-then-upgraded")
    deployment = await fleet.deploy(api, v1["id"], device["id"])
    async with fleet.device_client(app, device["token"]) as agent:
        assert (await _registry_auth(agent, deployment, v1)).status_code == 200
        upgraded = await api.post(
            f"/api/v1/deployments/{deployment['id']}/upgrade", json={"release_id": v2["id"]}
        )
        assert upgraded.status_code == 200, upgraded.text
        response = await _registry_auth(agent, deployment, v1)
    assert response.status_code == 404


async def test_devices_coming_online_together_are_written_in_one_statement(database_url):
    from edgedock.db import utcnow
    from edgedock.device_api.fleet import Fleet
    from edgedock.device_api.seen import SeenWriter

    database = Database.connect(database_url)  # real connections: the writes run concurrently
    try:
        writer = SeenWriter(database, Fleet())
        with counted_statements(database.engine) as statements:
            await asyncio.gather(*(writer.write_now(uuid.uuid4(), utcnow()) for _ in range(25)))
    finally:
        await database.dispose()
    assert len([s for s in statements if s.startswith("UPDATE device")]) == 1, statements


async def test_pull_targets_asked_for_together_are_read_in_one_query(database_url):
    from edgedock.device_api.pull_cache import PullTargetReader

    database = Database.connect(database_url)  # real connections: the reads run concurrently
    try:
        reader = PullTargetReader(database)
        keys = [(uuid.uuid4(), uuid.uuid4(), uuid.uuid4()) for _ in range(25)]
        with counted_statements(database.engine) as statements:
            found = await asyncio.gather(*(reader.read(k) for k in keys))
    finally:
        await database.dispose()
    assert found == [None] * 25, "unknown deployments are nobody's pull target"
    assert len([s for s in statements if "release_container" in s]) == 1, statements
