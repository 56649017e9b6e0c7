"""Credentials replace under concurrency: two replaces of the same credentials, a replace racing
a release create that wants the successor's version, and a replace racing a deploy. Each ends
in one consistent outcome, counted in the database."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from edgedock.deployments.models import Deployment
from edgedock.releases.models import Release, ReleaseContainer
from tests import factories
from tests.support.races import together

CREDS = "/api/v1/image-credentials"


async def _post(api, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _shop(api, devices: int = 3):
    """1.0.0 on old credentials, deployed on `devices` devices; 1.1.0 on them, the highest."""
    old = await factories.credentials(api, label="old")
    app = await factories.application(api, name="shop")
    containers = [factories.container("web", "ghcr.io/a/web:1", image_credentials_id=old["id"])]
    v100 = await factories.release(api, app["id"], version="1.0.0", containers=containers)
    v110 = await factories.release(api, app["id"], version="1.1.0", containers=containers)
    deployments = []
    for i in range(devices):
        device = await _post(api, "/api/v1/devices", {"name": f"gw-{i}"})
        deployments.append(
            await _post(
                api, "/api/v1/deployments", {"release_id": v100["id"], "device_id": device["id"]}
            )
        )
    return old, app, v100, v110, deployments


async def _releases(race_server, app_id: str) -> dict[str, uuid.UUID | None]:
    """version → the credentials of its (single) container."""
    async with race_server.database.transaction() as session:
        rows = await session.execute(
            select(Release.version, ReleaseContainer.image_credentials_id)
            .join(ReleaseContainer, ReleaseContainer.release_id == Release.id)
            .where(Release.application_id == uuid.UUID(app_id))
        )
        return {version: cid for version, cid in rows.all()}


async def _on_release(race_server, deployment_ids: list[str]) -> dict[str, str]:
    async with race_server.database.transaction() as session:
        rows = await session.execute(
            select(Deployment.id, Release.version)
            .join(Release, Deployment.release_id == Release.id)
            .where(Deployment.id.in_([uuid.UUID(d) for d in deployment_ids]))
        )
        return {str(d): version for d, version in rows.all()}


async def test_two_concurrent_replaces_make_one_set_of_successors(race_server):
    async with race_server.tenant_client() as api:
        old, app, _v100, _v110, deployments = await _shop(api)
        first = await factories.credentials(api, label="first")
        second = await factories.credentials(api, label="second")
        responses = await together(
            api.post(f"{CREDS}/{old['id']}/replace", json={"with": first["id"]}),
            api.post(f"{CREDS}/{old['id']}/replace", json={"with": second["id"]}),
        )
    assert all(r.status_code in (200, 409) for r in responses), [r.text for r in responses]
    done = [r.json() for r in responses if r.status_code == 200 and r.json()["releases"]]
    assert len(done) == 1, [r.text for r in responses]
    (winner,) = done
    new_id = uuid.UUID(winner["new"]["id"])
    # The loser saw the winner's outcome (nothing left to replace) or was refused outright.
    (loser,) = [r for r in responses if r.status_code != 200 or r.json() != winner]
    if loser.status_code == 200:
        assert loser.json()["releases"] == loser.json()["deployments"] == []
    else:
        assert loser.json()["error"]["code"] in ("version_taken", "duplicate_version")
    assert await _releases(race_server, app["id"]) == {
        "1.0.0": uuid.UUID(old["id"]),
        "1.1.0": uuid.UUID(old["id"]),
        "1.0.1": new_id,
        "1.1.1": new_id,
    }
    on = await _on_release(race_server, [d["id"] for d in deployments])
    assert set(on.values()) == {"1.0.1"}


async def test_replace_racing_a_release_that_takes_the_successor_version(race_server):
    async with race_server.tenant_client() as api:
        old, app, _v100, _v110, deployments = await _shop(api)
        new = await factories.credentials(api, label="new")
        other = await factories.credentials(api, label="other")
        body = {
            "version": "1.0.1",
            "containers": [
                factories.container("web", "ghcr.io/a/web:2", image_credentials_id=other["id"])
            ],
        }
        replaced, created = await together(
            api.post(f"{CREDS}/{old['id']}/replace", json={"with": new["id"]}),
            api.post(f"/api/v1/applications/{app['id']}/releases", json=body),
        )
    held = await _releases(race_server, app["id"])
    on = await _on_release(race_server, [d["id"] for d in deployments])
    if replaced.status_code == 200:
        # The replace came first: 1.0.1 is its successor, and the release create was refused.
        assert created.status_code == 409, created.text
        assert created.json()["error"]["code"] == "duplicate_version"
        assert held["1.0.1"] == uuid.UUID(new["id"]) and held["1.1.1"] == uuid.UUID(new["id"])
        assert set(on.values()) == {"1.0.1"}
    else:
        # The release came first: the replace found 1.0.1 taken and changed nothing.
        assert created.status_code == 201, created.text
        assert replaced.status_code == 409, replaced.text
        assert replaced.json()["error"]["code"] == "version_taken"
        assert held == {
            "1.0.0": uuid.UUID(old["id"]),
            "1.1.0": uuid.UUID(old["id"]),
            "1.0.1": uuid.UUID(other["id"]),
        }
        assert set(on.values()) == {"1.0.0"}


async def test_replace_racing_a_deploy_upgrades_it_or_leaves_it_after(race_server):
    async with race_server.tenant_client() as api:
        old, app, _v100, v110, deployments = await _shop(api, devices=1)
        new = await factories.credentials(api, label="new")
        device = await _post(api, "/api/v1/devices", {"name": "late"})
        replaced, deployed = await together(
            api.post(f"{CREDS}/{old['id']}/replace", json={"with": new["id"]}),
            api.post(
                "/api/v1/deployments", json={"release_id": v110["id"], "device_id": device["id"]}
            ),
        )
    assert replaced.status_code == 200, replaced.text
    assert deployed.status_code == 201, deployed.text
    plan = replaced.json()
    late = deployed.json()["id"]
    on = await _on_release(race_server, [late, deployments[0]["id"]])
    assert on[deployments[0]["id"]] == "1.0.1"
    if late in {d["deployment_id"] for d in plan["deployments"]}:
        assert on[late] == "1.1.1"  # deployed first, then upgraded by the replace
    else:
        assert on[late] == "1.1.0"  # deployed after the replace committed
    assert [d["deployment_id"] for d in plan["deployments"] if d["deployment_id"] != late] == [
        deployments[0]["id"]
    ]
