"""Orchestration for the device API: it sits above deployments, credentials and audit.

Registry auth is the one place a password leaves the server. It is decrypted here, encoded
into the X-Registry-Auth value, audited (without the secret), and handed to the caller.
"""

from __future__ import annotations

import hashlib
import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import references, registry_auth, wire
from edgedock.actors import Actor
from edgedock.audit import service as audit_service
from edgedock.audit.writer import AuditWriter
from edgedock.credentials import expiry
from edgedock.credentials import service as credential_service
from edgedock.crypto import Keyring, UnknownKey
from edgedock.db import Database, utcnow
from edgedock.deployments import reports
from edgedock.device_api.fleet import DeviceIdentity
from edgedock.device_api.pull_cache import PullTargetCache
from edgedock.errors import Gone, NotFound
from edgedock.read import pull_targets
from edgedock.registries import pull_secrets

log = logging.getLogger(__name__)


class ContainerNotDeployed(NotFound):
    code = "container_not_found"


class NoCredentialsNeeded(NotFound):
    code = "no_credentials_needed"


class CredentialsDeleted(Gone):
    code = "credentials_deleted"


class CredentialsExpired(Gone):
    """410 as for deleted credentials: the device API's answer for credentials that no retry
    will make work (agents already report a 410's message as the container's error), and
    the remedy is the same, new credentials in a new release."""

    code = "credentials_expired"


def device_actor(device: DeviceIdentity) -> Actor:
    return Actor(tenant_id=device.tenant_id, name=f"device:{device.name}")


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def issue_registry_auth(
    database: Database,
    audit: AuditWriter,
    cache: PullTargetCache,
    *,
    device: DeviceIdentity,
    request: wire.RegistryAuthRequest,
    keyring: Keyring,
    secrets: pull_secrets.PullSecretWriter,
    pull_secret_ttl: int,
) -> wire.RegistryAuthResponse:
    """Takes the database, not a request's session: the pull target comes from this replica's
    cache or one snapshot, and the audit event joins a group commit (audit/writer.py) instead
    of a transaction of its own. A brokered image gets a pull secret, written the same way.
    """
    deployment_id, container_id = _uuid(request.deployment_id), _uuid(request.container_id)
    if deployment_id is None or container_id is None:
        raise ContainerNotDeployed(
            f"container {request.container_id} is not part of deployment {request.deployment_id} "
            "of this device"
        )
    key = (device.id, deployment_id, container_id)
    for fresh in (False, True):
        target = None if fresh else cache.get(key)
        if target is None:
            target = await _read_target(cache, device=device, key=key)
        if target is None:
            raise ContainerNotDeployed(
                f"container {request.container_id} is not part of deployment "
                f"{request.deployment_id} of this device"
            )
        if target.brokered_registry_id is not None:
            return await _issue_brokered(
                audit,
                secrets,
                device=device,
                request=request,
                target=target,
                ttl=pull_secret_ttl,
            )
        try:
            return await _issue(
                audit, device=device, request=request, target=target, keyring=keyring
            )
        except CredentialsExpired:
            await _record_expired(database, target)
            raise
        except UnknownKey:
            if fresh:
                raise
            # Cached before `keys rotate` re-sealed it and `keys retire` removed the old key.
            cache.drop(key)
    raise AssertionError("unreachable")


async def _record_expired(database: Database, target: pull_targets.PullTarget) -> None:
    """The first refusal audits the expiry, if no sweep did yet (credentials/expiry.py)."""
    credential = target.credentials
    if credential is None or credential.expiry_state_recorded == "expired":
        return  # as of when the target was read: a stale "not yet" costs one empty UPDATE
    try:
        async with database.transaction() as session:
            await expiry.record_crossings(
                session, warning=expiry.DEFAULT_WARNING, credential_ids=[credential.id]
            )
            await session.flush()
    except Exception as exc:  # the device still hears why; the sweep records it later
        log.warning("could not audit the expiry of image credentials %s: %s", credential.id, exc)


async def _read_target(
    cache: PullTargetCache,
    *,
    device: DeviceIdentity,
    key: tuple[uuid.UUID, uuid.UUID, uuid.UUID],
) -> pull_targets.PullTarget | None:
    stamp = cache.fleet.stamp(device.id)
    target = await cache.reader.read(key)
    if target is not None:
        cache.put(key, target, stamp=stamp)
    return target


async def _issue(
    audit: AuditWriter,
    *,
    device: DeviceIdentity,
    request: wire.RegistryAuthRequest,
    target: pull_targets.PullTarget,
    keyring: Keyring,
) -> wire.RegistryAuthResponse:
    credential = target.credentials
    if credential is None:
        if target.credentials_deleted_at is not None:
            # Named by id: labels are for people and never sent to a device. The deployment
            # page shows people the label next to this message.
            raise CredentialsDeleted(
                f"the image credentials {target.credentials_deleted_id} that container "
                f"{target.name!r} ({target.image}) needs were deleted on "
                f"{target.credentials_deleted_at:%Y-%m-%d %H:%M} UTC; make a new release "
                "that uses other credentials"
            )
        raise NoCredentialsNeeded(f"container {target.name!r} needs no image credentials")
    # Checked at answer time from the (possibly cached) target: an expiry passes by time, and
    # no change notification would drop the cache entry when it does.
    if credential.expires_at is not None and credential.expires_at <= utcnow():
        raise CredentialsExpired(
            f"the image credentials {credential.id} that container {target.name!r} "
            f"({target.image}) needs expired on {credential.expires_at:%Y-%m-%d %H:%M} UTC; "
            "create new credentials and replace these with them in a new release"
        )
    value, serveraddress = registry_auth.for_image(
        target.image_canonical,
        username=credential.username,
        password=credential_service.reveal(credential, keyring=keyring),
    )
    await audit.record(
        audit_service.values(
            actor=device_actor(device),
            action="registry_auth.issued",
            resource_type="deployment",
            resource_id=request.deployment_id,
            credentials_id=credential.id,
            device_id=device.id,
            summary=f"issued registry auth for {target.image} to device {device.name!r} "
            f"with credentials {credential.label!r}",
            details={
                "image": target.image_canonical,
                "serveraddress": serveraddress,
                "container": target.name,
                "label": credential.label,
            },
        )
    )
    return wire.RegistryAuthResponse(
        x_registry_auth=value, serveraddress=serveraddress, expires_at=credential.expires_at
    )


async def _issue_brokered(
    audit: AuditWriter,
    secrets: pull_secrets.PullSecretWriter,
    *,
    device: DeviceIdentity,
    request: wire.RegistryAuthRequest,
    target: pull_targets.PullTarget,
    ttl: int,
) -> wire.RegistryAuthResponse:
    """A fresh pull secret for a brokered image: the device never sees a registry password."""
    assert target.brokered_registry_id is not None and target.tenant_id is not None
    parsed = references.parse(target.image_canonical)
    deployment_id = uuid.UUID(request.deployment_id)
    secret, row = pull_secrets.new_row(
        tenant_id=target.tenant_id,
        registry_id=target.brokered_registry_id,
        device_id=device.id,
        deployment_id=deployment_id,
        repository=parsed.path,
        ttl=ttl,
    )
    serveraddress = registry_auth.server_address(parsed.domain)
    value = registry_auth.encode(
        username=pull_secrets.device_username(device.name),
        password=secret,
        serveraddress=serveraddress,
    )
    await secrets.store(row)
    await audit.record(
        audit_service.values(
            actor=device_actor(device),
            action="registry_auth.issued",
            resource_type="deployment",
            resource_id=request.deployment_id,
            device_id=device.id,
            summary=f"issued a pull secret for {target.image} (brokered registry "
            f"{parsed.domain}) to device {device.name!r}",
            details={
                "image": target.image_canonical,
                "serveraddress": serveraddress,
                "container": target.name,
                "brokered_registry_id": str(target.brokered_registry_id),
                "pull_secret_id": str(row["id"]),
                "expires_at": row["expires_at"].isoformat(),
            },
        )
    )
    return wire.RegistryAuthResponse(
        x_registry_auth=value, serveraddress=serveraddress, expires_at=row["expires_at"]
    )


async def apply_status(
    session: AsyncSession, *, device: DeviceIdentity, report: wire.StatusReport
) -> None:
    """Record the report, and audit its pulls: one `pull.failed` record per distinct failure
    (its repeats counted on it), one `pull.succeeded` per pull done with credentials."""
    applied = await reports.apply(session, device_id=device.id, report=report)
    actor = device_actor(device)
    for failure in applied.failures:
        container = failure.container
        await audit_service.record_repeated(
            session,
            audit_service.values(
                actor=actor,
                action="pull.failed",
                resource_type="deployment",
                resource_id=failure.deployment_id,
                credentials_id=container.image_credentials_id if container else None,
                device_id=device.id,
                summary=f"device {device.name!r} failed to pull"
                + (f" {container.image}" if container else "")
                + f": {failure.message}",
                details={
                    "image": container.image_canonical if container else None,
                    "message": failure.message,
                },
            ),
            key=_failure_key(failure),
        )
    for pull in applied.pulls:
        container = pull.container
        if container is None:
            continue
        await audit_service.end_repeats(
            session,
            tenant_id=device.tenant_id,
            resource_id=str(pull.deployment_id),
            key_prefix=f"{container.id}:",
        )
        if container.image_credentials_id is None:
            continue
        await audit_service.record(
            session,
            actor=actor,
            action="pull.succeeded",
            resource_type="deployment",
            resource_id=pull.deployment_id,
            credentials_id=container.image_credentials_id,
            device_id=device.id,
            summary=f"device {device.name!r} pulled {container.image}",
            details={"image": container.image_canonical, "container": container.name},
            flush=False,
        )


def _failure_key(failure: reports.ReportedPull) -> str:
    """What makes two failures the same one: deployment, container, image, message.

    Prefixed by the container id so that a pull that works again ends them (`end_repeats`);
    at most 64 characters, the column's size.
    """
    container = failure.container
    digest = hashlib.sha256(
        "\n".join(
            [
                str(failure.deployment_id),
                container.image_canonical if container else "",
                failure.message,
            ]
        ).encode()
    ).hexdigest()
    return f"{container.id if container else 'deployment'}:{digest[:27]}"
