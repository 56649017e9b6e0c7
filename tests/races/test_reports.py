"""A device reporting on deployments that are being deleted: ignored or recorded, never a 500."""

from __future__ import annotations

import uuid

from edgedock.deployments.models import ContainerState, Deployment
from tests import factories
from tests.support.races import together


async def test_status_reports_racing_deployment_deletes_answer_204(race_server):
    async with race_server.tenant_client() as api:
        device = (await api.post("/api/v1/devices", json={"name": "gw-reporting"})).json()
        deployments = []
        for i in range(6):
            app = await factories.application(api, name=f"reported-{i}")
            release = await factories.release(api, app["id"])
            response = await api.post(
                "/api/v1/deployments",
                json={"release_id": release["id"], "device_id": device["id"]},
            )
            assert response.status_code == 201, response.text
            deployments.append(response.json())
        async with factories.client_for(race_server.app, device["token"]) as agent:
            reports = [
                agent.post(
                    "/device/v1/status",
                    json={
                        "containers": [
                            {
                                "deployment_id": d["id"],
                                "container_id": d["containers"][0]["id"],
                                "status": "running",
                                "message": f"report {n}",
                            }
                            for d in deployments
                        ]
                    },
                )
                for n in range(6)
            ]
            deletes = [api.delete(f"/api/v1/deployments/{d['id']}") for d in deployments]
            responses = await together(
                *[x for pair in zip(reports, deletes, strict=True) for x in pair]
            )
    assert [r.status_code for r in responses[0::2]] == [204] * 6, [r.text for r in responses]
    assert [r.status_code for r in responses[1::2]] == [204] * 6, [r.text for r in responses]
    ids = [uuid.UUID(d["id"]) for d in deployments]
    assert await race_server.count(Deployment, Deployment.id.in_(ids)) == 0
    assert await race_server.count(ContainerState, ContainerState.deployment_id.in_(ids)) == 0
