"""Replace old credentials with new ones: a successor release for every release that keeps the
old ones in use (deployed, or its application's highest version), and every deployment of those
upgraded to its successor, in the caller's one transaction.

The plan is computed under locks (read/release_use.py): no release create, deploy, upgrade or
release delete in the applications concerned can change it before the commit, so the plan a
dry run answers is the plan a real run executes. Orchestration lives here, above the
deployments, releases and credentials services, so their calls stay a DAG.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import crypto, references, versions
from edgedock.actors import Actor
from edgedock.credentials import checks, expiry
from edgedock.credentials import service as credential_service
from edgedock.credentials.models import ImageCredential
from edgedock.db import Database, lock_owned
from edgedock.errors import Conflict, Invalid
from edgedock.insecure_registries import InsecureRegistries
from edgedock.read import release_use
from edgedock.rotation import execute
from edgedock.rotation.schemas import (
    CheckedImage,
    CredentialsSide,
    PlannedApplication,
    PlannedDevice,
    PlannedRelease,
    PlannedUpgrade,
    ReplacePlan,
    ReplaceRequest,
)


class SameCredentials(Invalid):
    code = "same_credentials"


class NewCredentialsExpired(Invalid):
    code = "credentials_expired"


class VersionNeeded(Invalid):
    code = "version_needed"


class VersionNotPlanned(Invalid):
    code = "version_not_planned"


class VersionNotHigher(Invalid):
    code = "version_not_higher"


class VersionTaken(Conflict):
    code = "version_taken"


class RegistryConflict(Conflict):
    code = "registry_conflict"


class PlanChanged(Conflict):
    code = "plan_changed"


@dataclass
class Locked:
    old: ImageCredential
    new: ImageCredential
    uses: list[release_use.ReleaseUse]
    application_ids: list[uuid.UUID]


async def replace(
    session: AsyncSession,
    *,
    actor: Actor,
    old_id: uuid.UUID,
    data: ReplaceRequest,
    checked: list[CheckedImage] | None = None,
) -> ReplacePlan:
    """The plan, and unless `data.dry_run` its execution. `checked` are the images the new
    credentials were checked against beforehand (`data.check`): the plan must need no other."""
    locked = await lock_and_read(session, actor=actor, old_id=old_id, new_id=data.new_id)
    plan = await _plan(session, locked=locked, data=data)
    if checked is not None:
        plan.checked = checked
        unchecked = {i for r in plan.releases for i in r.images} - {c.image for c in checked}
        if unchecked:
            raise PlanChanged(
                f"the plan changed while the registry was asked: {sorted(unchecked)[0]} was not "
                "checked; try again"
            )
    if not data.dry_run:
        await execute.run(session, actor=actor, old=locked.old, new=locked.new, plan=plan)
    return plan


async def lock_and_read(
    session: AsyncSession, *, actor: Actor, old_id: uuid.UUID, new_id: uuid.UUID
) -> Locked:
    """Both credentials and the old ones' current uses, with every row the plan rests on locked.

    Applications first, then the credentials, the order release creates and deletes take them.
    """
    if old_id == new_id:
        raise SameCredentials("the new credentials must be other credentials", field="with")
    tenant_id = actor.tenant_id
    app_ids = await release_use.applications_using(
        session, tenant_id=tenant_id, credential_id=old_id
    )
    await release_use.lock_applications(session, application_ids=app_ids)
    old = await lock_owned(session, ImageCredential, tenant_id=tenant_id, row_id=old_id)
    if old is None:
        raise credential_service.CredentialNotFound(f"image credentials {old_id} do not exist")
    again = await release_use.applications_using(session, tenant_id=tenant_id, credential_id=old_id)
    if set(again) - set(app_ids):
        raise PlanChanged(
            f"a release naming image credentials {old.label!r} was just made in another "
            "application; try again"
        )
    await release_use.lock_releases_and_deployments(session, application_ids=app_ids)
    new = await credential_service.find(session, tenant_id=tenant_id, credential_id=new_id)
    if new is None:
        raise credential_service.CredentialNotFound(
            f"image credentials {new_id} do not exist", field="with"
        )
    if expiry.state_of(new.expires_at, warning=expiry.DEFAULT_WARNING) == "expired":
        raise NewCredentialsExpired(
            f"image credentials {new.label!r} ({new.id}) expired at {new.expires_at}: "
            "devices would be refused them",
            field="with",
        )
    uses = await release_use.current_uses(session, tenant_id=tenant_id, credential_id=old_id)
    return Locked(old=old, new=new, uses=uses, application_ids=app_ids)


async def _plan(session: AsyncSession, *, locked: Locked, data: ReplaceRequest) -> ReplacePlan:
    successors = await _successor_versions(session, locked=locked, given=data.versions)
    overridden = await _registry_conflicts(session, locked=locked, force=data.force)
    releases = [
        PlannedRelease(
            application_id=u.application_id,
            application=u.application,
            from_release_id=u.release_id,
            from_version=u.version,
            to_version=successors[u.release_id],
            highest=u.highest,
            containers=u.containers,
            images=list(dict.fromkeys(u.images)),
        )
        for u in locked.uses
    ]
    upgrades = [
        PlannedUpgrade(
            deployment_id=d.deployment_id,
            from_release_id=u.release_id,
            device_id=d.device_id,
            device=d.device,
            application=u.application,
            from_version=u.version,
            to_version=successors[u.release_id],
        )
        for u in locked.uses
        for d in u.deployments
    ]
    applications = {u.application_id: u.application for u in locked.uses}
    devices = {d.device_id: d.device for d in upgrades}
    return ReplacePlan(
        old=_side(locked.old),
        new=_side(locked.new),
        dry_run=data.dry_run,
        applications=[PlannedApplication(id=i, name=n) for i, n in applications.items()],
        releases=releases,
        deployments=upgrades,
        devices=[
            PlannedDevice(id=i, name=n) for i, n in sorted(devices.items(), key=lambda d: d[1])
        ],
        overridden=overridden,
    )


def _side(credential: ImageCredential) -> CredentialsSide:
    return CredentialsSide(
        id=credential.id,
        label=credential.label,
        username=credential.username,
        registry=credential.bound_registry,
    )


async def _successor_versions(
    session: AsyncSession, *, locked: Locked, given: dict[uuid.UUID, str]
) -> dict[uuid.UUID, str]:
    """Each affected release's successor version: given, else the next patch. Refused: a
    version the application has (or two successors share), a successor of the highest release
    that is not higher than it (the old credentials would stay in the latest release)."""
    planned = {u.release_id for u in locked.uses}
    for release_id in given:
        if release_id not in planned:
            raise VersionNotPlanned(
                f"release {release_id} is not one the replace changes (it does not use image "
                f"credentials {locked.old.label!r}, or is neither deployed nor the highest)",
                field=f"versions.{release_id}",
            )
    taken = await release_use.versions_of(session, application_ids=locked.application_ids)
    successors: dict[uuid.UUID, str] = {}
    conflicts: list[dict[str, str]] = []
    for use in locked.uses:
        version = given.get(use.release_id) or _next_patch(use)
        if use.highest and versions.precedence(version) <= versions.precedence(use.version):
            raise VersionNotHigher(
                f"{use.application} {use.version} is the application's highest release: its "
                f"successor must be higher than {use.version}, not {version}",
                field=f"versions.{use.release_id}",
            )
        if version in taken[use.application_id]:
            conflicts.append(
                {
                    "application": use.application,
                    "version": version,
                    "release_id": str(use.release_id),
                }
            )
        taken[use.application_id].add(version)
        successors[use.release_id] = version
    if conflicts:
        first = conflicts[0]
        raise VersionTaken(
            f"application {first['application']!r} already has a release {first['version']} "
            f"(the successor of a release this replace changes)"
            + (f" and {len(conflicts) - 1} more" if len(conflicts) > 1 else "")
            + "; give a free version in `versions`",
            field=f"versions.{first['release_id']}",
            details={"conflicts": conflicts},
        )
    return successors


def _next_patch(use: release_use.ReleaseUse) -> str:
    version = versions.next_patch(use.version)
    if version is None:
        raise VersionNeeded(
            f"{use.application} {use.version} (release {use.release_id}) is not a plain x.y.z "
            "version: give its successor's version in `versions`",
            field=f"versions.{use.release_id}",
        )
    return version


async def _registry_conflicts(session: AsyncSession, *, locked: Locked, force: bool) -> list[str]:
    """The new credentials are bound to, or were used with, registries: the releases to change
    must pull from those only, or the new password goes where it does not belong."""
    new = locked.new
    if new.bound_registry is not None:
        known, how = {new.bound_registry}, "bound to"
    else:
        used = await release_use.registries_used_with(
            session, tenant_id=new.tenant_id, credential_id=new.id
        )
        known, how = {references.registry_of(d) for d in used}, "used with"
    needed = {references.registry_of(r) for u in locked.uses for r in u.registries}
    strangers = sorted(needed - known) if known else []
    if not strangers:
        return []
    message = (
        f"the new image credentials {new.label!r} are {how} {', '.join(sorted(known))}, but "
        f"the releases to change pull with {locked.old.label!r} from {', '.join(strangers)}"
    )
    if not force:
        raise RegistryConflict(
            message + "; replace with force=true if that is what you mean",
            field="with",
            details={"registries": strangers, "known": sorted(known)},
        )
    return [message]


async def check_new(
    database: Database,
    *,
    actor: Actor,
    keyring: crypto.Keyring,
    insecure: InsecureRegistries,
    old_id: uuid.UUID,
    new_id: uuid.UUID,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[CheckedImage]:
    """Check the new credentials against every image the plan would pull with them, before
    the replace's transaction (a registry may take seconds: see credentials/checks.py). Each
    check is stored and audited as a check of the new credentials; any refusal stops the
    replace with the registry's words (`RegistryRefused`, 422)."""
    async with database.snapshot() as session:
        if old_id == new_id:
            raise SameCredentials("the new credentials must be other credentials", field="with")
        await credential_service.get(session, tenant_id=actor.tenant_id, credential_id=old_id)
        uses = await release_use.current_uses(
            session, tenant_id=actor.tenant_id, credential_id=old_id
        )
    images = list(dict.fromkeys(i for u in uses for i in u.images))
    checked = []
    for image in images:
        try:
            result = await checks.check_credentials(
                database,
                actor=actor,
                keyring=keyring,
                insecure=insecure,
                credential_id=new_id,
                image=image,
                transport=transport,
            )
        except credential_service.CredentialNotFound as exc:
            raise credential_service.CredentialNotFound(exc.message, field="with") from None
        if not result.ok:
            raise checks.RegistryRefused(
                f"the registry refused the new credentials for {result.image}: "
                f"{result.message} ({result.status}); nothing was changed",
                field="with",
                details={"check": checks.to_read(result).model_dump(mode="json")},
            )
        checked.append(CheckedImage(image=image, ok=result.ok, status=result.status))
    return checked
