"""Carrying out a replace plan: successor releases through the releases service, upgrades
through the deployments service (each audited there as usual), and one audit record for the
replace itself."""

from __future__ import annotations

import uuid

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock.actors import Actor
from edgedock.applications import service as application_service
from edgedock.audit import service as audit_service
from edgedock.credentials.models import ImageCredential
from edgedock.deployments import service as deployment_service
from edgedock.errors import Invalid
from edgedock.releases import service as release_service
from edgedock.releases.models import Release
from edgedock.releases.schemas import ContainerCreate, ReleaseCreate
from edgedock.rotation.schemas import PlannedRelease, ReplacePlan


class SettingsNotCopyable(Invalid):
    code = "release_not_copyable"


async def run(
    session: AsyncSession,
    *,
    actor: Actor,
    old: ImageCredential,
    new: ImageCredential,
    plan: ReplacePlan,
) -> None:
    """Execute `plan` in the caller's transaction; fills in each successor's release id."""
    successors: dict[uuid.UUID, uuid.UUID] = {}
    for planned in plan.releases:
        release = await _successor(session, actor=actor, old=old, new=new, planned=planned)
        planned.to_release_id = successors[planned.from_release_id] = release.id
    for upgrade in plan.deployments:
        await deployment_service.upgrade(
            session,
            actor=actor,
            deployment_id=upgrade.deployment_id,
            release_id=successors[upgrade.from_release_id],
        )
    await _audit(session, actor=actor, old=old, new=new, plan=plan)


async def _successor(
    session: AsyncSession,
    *,
    actor: Actor,
    old: ImageCredential,
    new: ImageCredential,
    planned: PlannedRelease,
) -> Release:
    source = await release_service.get(
        session, tenant_id=actor.tenant_id, release_id=planned.from_release_id
    )
    application = await application_service.get(
        session, tenant_id=actor.tenant_id, application_id=planned.application_id
    )
    try:
        data = ReleaseCreate(
            version=planned.to_version,
            containers=[
                ContainerCreate(
                    name=c.name,
                    image=c.image,
                    image_credentials_id=new.id
                    if c.image_credentials_id == old.id
                    else c.image_credentials_id,
                    **c.settings,
                )
                for c in source.containers
            ],
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SettingsNotCopyable(
            f"{application.name} {source.version} cannot be copied into a new release: its "
            f"stored {where} no longer passes today's rules ({first['msg']}); make its "
            f"successor by hand and give that version in `versions`",
            field=f"versions.{source.id}",
        ) from None
    return await release_service.create(session, actor=actor, application=application, data=data)


async def _audit(
    session: AsyncSession,
    *,
    actor: Actor,
    old: ImageCredential,
    new: ImageCredential,
    plan: ReplacePlan,
) -> None:
    devices = len(plan.devices)
    await audit_service.record(
        session,
        actor=actor,
        action="credentials.replaced",
        resource_type="image_credentials",
        resource_id=old.id,
        credentials_id=old.id,
        summary=f"replaced image credentials {old.label!r} with {new.label!r}: "
        f"{len(plan.releases)} new release(s) in {len(plan.applications)} application(s), "
        f"{len(plan.deployments)} deployment(s) upgraded on {devices} device(s)"
        + (" (forced)" if plan.overridden else ""),
        details={
            "old_id": str(old.id),
            "new_id": str(new.id),
            "new_label": new.label,
            "releases": [
                {
                    "application": r.application,
                    "from": r.from_version,
                    "to": r.to_version,
                    "release_id": str(r.to_release_id),
                }
                for r in plan.releases
            ],
            "deployments": len(plan.deployments),
            "devices": [d.name for d in plan.devices],
            "overridden": plan.overridden,
            "checked": [c.image for c in plan.checked],
        },
    )
