"""The releases service below the API: one transaction for a release and all its containers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from edgedock.actors import Actor
from edgedock.applications import service as application_service
from edgedock.applications.schemas import ApplicationCreate
from edgedock.audit.models import AuditEvent
from edgedock.releases import service as release_service
from edgedock.releases.models import Release, ReleaseContainer
from edgedock.releases.schemas import ContainerCreate, ReleaseCreate


async def test_failure_on_third_container_writes_nothing(session, tenant):
    actor = Actor(tenant_id=tenant.id, name="test")
    app = await application_service.create(session, actor=actor, data=ApplicationCreate(name="a"))
    ok = [ContainerCreate(name=n, image="nginx") for n in ("one", "two")]
    # Bypass validation so that the database, not the schema, refuses the third container.
    clash = ContainerCreate.model_construct(**{**ok[0].model_dump(), "name": "one"})
    data = ReleaseCreate.model_construct(version="1.0.0", containers=[*ok, clash])
    with pytest.raises(IntegrityError):
        await release_service.create(session, actor=actor, application=app, data=data)
    for model in (Release, ReleaseContainer):
        assert await session.scalar(select(func.count()).select_from(model)) == 0
    actions = (await session.scalars(select(AuditEvent.action))).all()
    assert "releases.created" not in actions
    done = await release_service.create(
        session, actor=actor, application=app, data=ReleaseCreate(version="1.0.0", containers=ok)
    )
    assert [c.name for c in done.containers] == ["one", "two"]


def racing(monkeypatch, module, check):
    """Make the pre-check miss once, as when a concurrent request wins between check and write."""
    real = getattr(module, check)
    calls = []

    async def first_misses(*args, **kwargs):
        calls.append(1)
        return False if len(calls) == 1 else await real(*args, **kwargs)

    monkeypatch.setattr(module, check, first_misses)


async def test_concurrent_duplicate_version_is_409_and_transaction_survives(
    session, tenant, monkeypatch
):
    actor = Actor(tenant_id=tenant.id, name="test")
    app = await application_service.create(session, actor=actor, data=ApplicationCreate(name="a"))
    data = ReleaseCreate(version="1.0.0", containers=[ContainerCreate(name="c", image="nginx")])
    await release_service.create(session, actor=actor, application=app, data=data)
    racing(monkeypatch, release_service, "_version_taken")
    with pytest.raises(release_service.DuplicateVersion):
        await release_service.create(session, actor=actor, application=app, data=data)
    assert await session.scalar(select(func.count()).select_from(Release)) == 1
