"""Internal errors answer a fixed message: their own names internal ids (keys, tenants, rows)."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from edgedock.credentials.models import ImageCredential
from tests.deployments import fleet


async def test_missing_key_in_mid_request_answers_a_device_without_internal_ids(
    api, app, database, tenant, caplog
):
    creds, _, release = await fleet.private_release(api, password="pw-mid-request")
    device = await fleet.device(api, "gw-keyless")
    deployment = await fleet.deploy(api, release["id"], device["id"])
    container = next(c for c in release["containers"] if c["name"] == "app")
    async with database.transaction() as session:
        await session.execute(
            update(ImageCredential)
            .where(ImageCredential.id == uuid.UUID(creds["id"]))
            .values(secret_key_id="k-gone")
        )
    async with fleet.device_client(app, device["token"]) as agent:
        response = await agent.post(
            "/device/v1/registry-auth",
            json={"deployment_id": deployment["id"], "container_id": container["id"]},
        )
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "internal server error"}
    }
    for internal in ("k-gone", creds["id"], str(tenant.id), "pw-mid-request"):
        assert internal not in response.text
    assert "k-gone" in caplog.text, "the operator's log still says which key is missing"
