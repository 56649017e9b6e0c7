"""One deployment per application and device, held by the database under concurrent deploys."""

from __future__ import annotations

import random
import uuid

from edgedock.audit.models import AuditEvent
from edgedock.deployments.models import ContainerState, Deployment
from edgedock.devices.models import Device
from tests import factories
from tests.support.races import codes, statuses, together

DEPLOYMENTS = "/api/v1/deployments"


async def _device(api, name: str) -> str:
    response = await api.post("/api/v1/devices", json={"name": name})
    assert response.status_code == 201, response.text
    device_id: str = response.json()["id"]
    return device_id


async def test_concurrent_deploys_to_one_device_leave_one_deployment_per_application(race_server):
    async with race_server.tenant_client() as api:
        app = await factories.application(api, name="shop")
        containers = [factories.container("web"), factories.container("db", "postgres:17")]
        v1 = await factories.release(api, app["id"], version="1.0.0", containers=containers)
        v2 = await factories.release(api, app["id"], version="2.0.0", containers=containers)
        device = await _device(api, "gw-1")
        # Two releases of the same application count as the same application.
        responses = await together(
            *(
                api.post(DEPLOYMENTS, json={"release_id": r["id"], "device_id": device})
                for r in [v1, v2] * 10
            )
        )
    assert statuses(responses) == [201] + [409] * 19, [r.text for r in responses]
    assert codes(responses) == {"already_deployed"}
    assert await race_server.count(Deployment, Deployment.device_id == uuid.UUID(device)) == 1
    (winner,) = [r.json() for r in responses if r.status_code == 201]
    assert await race_server.count(
        ContainerState, ContainerState.deployment_id == uuid.UUID(winner["id"])
    ) == len(containers)
    assert (
        await race_server.count(
            AuditEvent,
            AuditEvent.action == "deployments.created",
            AuditEvent.device_id == uuid.UUID(device),
        )
        == 1
    )


async def test_concurrent_bulk_deploys_to_the_same_devices_are_all_or_nothing(race_server):
    async with race_server.tenant_client() as api:
        app = await factories.application(api, name="fleet-app")
        release = await factories.release(api, app["id"], version="1.0.0")
        devices = [await _device(api, f"gw-{i:02}") for i in range(29)]
        orders = [random.sample(devices, len(devices)) for _ in range(10)]
        responses = await together(
            *(
                api.post(f"{DEPLOYMENTS}/bulk", json={"release_id": release["id"], "device_ids": o})
                for o in orders
            )
        )
    assert statuses(responses) == [201] + [409] * 9, [r.text for r in responses]
    assert codes(responses) == {"already_deployed"}
    (winner,) = [r.json() for r in responses if r.status_code == 201]
    assert len(winner["items"]) == 29
    ids = [uuid.UUID(d) for d in devices]
    assert await race_server.count(Deployment, Deployment.device_id.in_(ids)) == 29
    assert await race_server.count(Device, Device.id.in_(ids)) == 29


async def test_concurrent_upgrades_of_one_deployment_apply_once(race_server):
    async with race_server.tenant_client() as api:
        app = await factories.application(api, name="shop")
        v1 = await factories.release(api, app["id"], version="1.0.0")
        v2 = await factories.release(api, app["id"], version="2.0.0")
        device = await _device(api, "gw-1")
        created = await api.post(DEPLOYMENTS, json={"release_id": v1["id"], "device_id": device})
        deployment = created.json()["id"]
        responses = await together(
            *(
                api.post(f"{DEPLOYMENTS}/{deployment}/upgrade", json={"release_id": v2["id"]})
                for _ in range(10)
            )
        )
    assert statuses(responses) == [200] + [409] * 9, [r.text for r in responses]
    assert (
        await race_server.count(
            AuditEvent,
            AuditEvent.action == "deployments.upgraded",
            AuditEvent.resource_id == deployment,
        )
        == 1
    )
    assert await race_server.count(
        ContainerState, ContainerState.deployment_id == uuid.UUID(deployment)
    ) == len(v2["containers"])
