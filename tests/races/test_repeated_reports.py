"""Concurrent identical failure reports of one device fold into one entry and one record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from edgedock.audit.models import AuditEvent
from edgedock.deployments.models import DeploymentEvent
from tests import factories
from tests.support.races import together

REFUSED = "unauthorized: authentication required"
REPORTS = 12


async def test_concurrent_identical_failures_fold_into_one_entry_and_one_record(race_server):
    async with race_server.tenant_client() as api:
        device = (await api.post("/api/v1/devices", json={"name": "gw-storm"})).json()
        app = await factories.application(api, name="stormy")
        release = await factories.release(api, app["id"])
        answer = await api.post(
            "/api/v1/deployments", json={"release_id": release["id"], "device_id": device["id"]}
        )
        assert answer.status_code == 201, answer.text
        deployment = answer.json()
        container_id = deployment["containers"][0]["id"]
        start = datetime.now(UTC)

        def report(n: int) -> dict[str, object]:
            event = {
                "deployment_id": deployment["id"],
                "container_id": container_id,
                "kind": "pull_failed",
                "message": REFUSED,
                "at": (start + timedelta(seconds=n)).isoformat(),
            }
            return {"events": [event]}

        async with factories.client_for(race_server.app, device["token"]) as agent:
            first = await agent.post("/device/v1/status", json=report(0))
            assert first.status_code == 204, first.text
            responses = await together(
                *(agent.post("/device/v1/status", json=report(n)) for n in range(1, REPORTS))
            )
    assert [r.status_code for r in responses] == [204] * (REPORTS - 1), [r.text for r in responses]
    deployment_id = uuid.UUID(deployment["id"])
    async with race_server.database.transaction() as session:
        entries = (
            await session.execute(
                select(DeploymentEvent.count).where(
                    DeploymentEvent.deployment_id == deployment_id,
                    DeploymentEvent.kind == "pull_failed",
                )
            )
        ).all()
        records = (
            await session.execute(
                select(AuditEvent.count).where(
                    AuditEvent.resource_id == deployment["id"], AuditEvent.action == "pull.failed"
                )
            )
        ).all()
        total = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.resource_id == deployment["id"], AuditEvent.action == "pull.failed")
        )
    assert [tuple(e) for e in entries] == [(REPORTS,)]
    assert [tuple(r) for r in records] == [(REPORTS,)] and total == 1
