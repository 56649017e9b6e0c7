"""Concurrent deletes of one thing answer one 204 (and audit one deletion); the rest are 404."""

from __future__ import annotations

import pytest

from edgedock.audit.models import AuditEvent
from tests import factories
from tests.support.races import codes, statuses, together


async def _device(api, name="gw-1") -> str:
    response = await api.post("/api/v1/devices", json={"name": name})
    assert response.status_code == 201, response.text
    device_id: str = response.json()["id"]
    return device_id


async def _deployment(api) -> str:
    app = await factories.application(api)
    release = await factories.release(api, app["id"])
    device = await _device(api)
    response = await api.post(
        "/api/v1/deployments", json={"release_id": release["id"], "device_id": device}
    )
    assert response.status_code == 201, response.text
    deployment_id: str = response.json()["id"]
    return deployment_id


async def _target(api, kind: str) -> tuple[str, str]:
    """What to delete, and the audit action its deletion records."""
    if kind == "credentials":
        creds = await factories.credentials(api)
        return f"/api/v1/image-credentials/{creds['id']}", "credentials.deleted"
    if kind == "application":
        app = await factories.application(api)
        await factories.release(api, app["id"])
        return f"/api/v1/applications/{app['id']}", "applications.deleted"
    if kind == "release":
        app = await factories.application(api)
        release = await factories.release(api, app["id"])
        return f"/api/v1/releases/{release['id']}", "releases.deleted"
    if kind == "device":
        return f"/api/v1/devices/{await _device(api)}", "devices.deleted"
    return f"/api/v1/deployments/{await _deployment(api)}", "deployments.deleted"


@pytest.mark.parametrize("kind", ["credentials", "application", "release", "device", "deployment"])
async def test_concurrent_deletes_answer_one_204_and_audit_one_deletion(race_server, kind):
    async with race_server.tenant_client() as api:
        url, action = await _target(api, kind)
        responses = await together(*(api.delete(url) for _ in range(20)))
    assert statuses(responses) == [204] + [404] * 19, [r.text for r in responses]
    assert len(codes(responses)) == 1 and codes(responses) <= {
        "credentials_not_found",
        "application_not_found",
        "release_not_found",
        "device_not_found",
        "deployment_not_found",
    }
    resource_id = url.rsplit("/", 1)[1]
    assert (
        await race_server.count(
            AuditEvent, AuditEvent.action == action, AuditEvent.resource_id == resource_id
        )
        == 1
    )
