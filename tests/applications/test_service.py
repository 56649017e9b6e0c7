"""The applications service below the API."""

from __future__ import annotations

import pytest

from edgedock.actors import Actor
from edgedock.applications import service as application_service
from edgedock.applications.schemas import ApplicationCreate
from tests.releases.test_service import racing


async def test_concurrent_duplicate_application_name_is_409_and_transaction_survives(
    session, tenant, monkeypatch
):
    actor = Actor(tenant_id=tenant.id, name="test")
    await application_service.create(session, actor=actor, data=ApplicationCreate(name="Shop"))
    racing(monkeypatch, application_service, "_name_taken")
    with pytest.raises(application_service.DuplicateName):
        await application_service.create(session, actor=actor, data=ApplicationCreate(name="shop"))
    page = await application_service.search(session, tenant_id=tenant.id)
    assert [a.name for a in page.items] == ["Shop"]
