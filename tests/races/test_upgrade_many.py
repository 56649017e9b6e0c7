"""Upgrading every deployment of a release while others deploy, delete and upgrade the same rows.

Each deployment ends on exactly one release with that release's container states, is upgraded
(and audited) at most once, and a deleted deployment leaves nothing behind, whatever the order
in which the database let the competitors through.
"""

from __future__ import annotations

import uuid
from collections import Counter

from sqlalchemy import func, select

from edgedock.audit.models import AuditEvent
from edgedock.deployments.models import ContainerState, Deployment
from tests import factories
from tests.support.races import together

DEPLOYMENTS = "/api/v1/deployments"


async def _device(api, name: str) -> str:  # type: ignore[no-untyped-def]
    response = await api.post("/api/v1/devices", json={"name": name})
    assert response.status_code == 201, response.text
    device_id: str = response.json()["id"]
    return device_id


async def _deploy(api, release_id: str, device_id: str) -> str:  # type: ignore[no-untyped-def]
    response = await api.post(DEPLOYMENTS, json={"release_id": release_id, "device_id": device_id})
    assert response.status_code == 201, response.text
    deployment_id: str = response.json()["id"]
    return deployment_id


async def test_upgrade_many_against_concurrent_deploys_deletes_and_upgrades(race_server):
    async with race_server.tenant_client() as api:
        app = await factories.application(api, name="fleet")
        two = [factories.container("web"), factories.container("db", "postgres:17")]
        v1 = await factories.release(api, app["id"], version="1.0.0", containers=two)
        v2 = await factories.release(
            api, app["id"], version="1.1.0", containers=[factories.container("web", "nginx:1.28")]
        )
        existing = [
            await _deploy(api, v1["id"], await _device(api, f"gw-old-{i:02}")) for i in range(16)
        ]
        fresh = [await _device(api, f"gw-new-{i:02}") for i in range(8)]
        doomed, single = existing[:4], existing[4:6]
        body = {"from_release": v1["id"], "to_release": v2["id"]}
        responses = await together(
            *(api.post(f"{DEPLOYMENTS}/upgrade", json=body) for _ in range(3)),
            *(api.post(DEPLOYMENTS, json={"release_id": v1["id"], "device_id": d}) for d in fresh),
            *(api.delete(f"{DEPLOYMENTS}/{d}") for d in doomed),
            *(
                api.post(f"{DEPLOYMENTS}/{d}/upgrade", json={"release_id": v2["id"]})
                for d in single
            ),
        )
    many, deploys = responses[:3], responses[3:11]
    deletes, singles = responses[11:15], responses[15:]
    assert [r.status_code for r in many] == [200] * 3, [r.text for r in many]
    assert [r.status_code for r in deploys] == [201] * 8, [r.text for r in deploys]
    assert [r.status_code for r in deletes] == [204] * 4, [r.text for r in deletes]
    # A single upgrade either won (200) or found the deployment already moved by a bulk one.
    assert all(r.status_code in (200, 409) for r in singles), [r.text for r in singles]

    async with race_server.database.transaction() as session:
        rows = (
            await session.execute(
                select(Deployment.id, Deployment.release_id).where(
                    Deployment.application_id == uuid.UUID(app["id"])
                )
            )
        ).all()
        states = Counter(
            (
                await session.scalars(
                    select(ContainerState.deployment_id).where(
                        ContainerState.deployment_id.in_([uuid.UUID(d) for d in existing + doomed])
                        | ContainerState.deployment_id.in_([r[0] for r in rows])
                    )
                )
            ).all()
        )
        audited = Counter(
            (
                await session.scalars(
                    select(AuditEvent.resource_id).where(
                        AuditEvent.action == "deployments.upgraded",
                        AuditEvent.resource_id.in_([str(r[0]) for r in rows] + doomed),
                    )
                )
            ).all()
        )
        orphans = await session.scalar(
            select(func.count())
            .select_from(ContainerState)
            .where(ContainerState.deployment_id.in_([uuid.UUID(d) for d in doomed]))
        )
    by_release = {r[0]: str(r[1]) for r in rows}
    assert len(by_release) == 16 - 4 + 8
    assert not set(doomed) & {str(d) for d in by_release}
    assert orphans == 0
    for deployment_id, release_id in by_release.items():
        # One release's containers, never a mix of the old and the new.
        assert states[deployment_id] == (1 if release_id == v2["id"] else 2), deployment_id
        assert audited[str(deployment_id)] == (1 if release_id == v2["id"] else 0), deployment_id
    assert all(audited[d] <= 1 for d in doomed), "a deleted deployment was upgraded twice"
    # Every upgrade the bulk answers claim was applied, once; none of them overlap.
    claimed = [d["id"] for r in many for d in r.json()["upgraded"]]
    claimed += [r.json()["id"] for r in singles if r.status_code == 200]
    assert len(claimed) == len(set(claimed))
    upgraded_now = {str(d) for d, r in by_release.items() if r == v2["id"]}
    assert upgraded_now <= set(claimed)
    assert set(claimed) - upgraded_now <= set(doomed), "only a later delete may undo an upgrade"
    # The deployments that existed before the race and survived it are all on 1.1.0.
    survivors = set(existing) - set(doomed)
    assert survivors <= upgraded_now
