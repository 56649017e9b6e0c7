"""Orchestration for the device API: it sits above deployments, credentials and audit.

Registry auth is the one place a password leaves the server. It is decrypted here, encoded
into the X-Registry-Auth value, audited (without the secret), and handed to the caller.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import registry_auth, wire
from edgedock.actors import Actor
from edgedock.audit import service as audit_service
from edgedock.credentials import service as credential_service
from edgedock.crypto import Keyring
from edgedock.deployments import reports
from edgedock.device_api.fleet import DeviceIdentity
from edgedock.errors import Gone, NotFound


class ContainerNotDeployed(NotFound):
    code = "container_not_found"


class NoCredentialsNeeded(NotFound):
    code = "no_credentials_needed"


class CredentialsDeleted(Gone):
    code = "credentials_deleted"


def device_actor(device: DeviceIdentity) -> Actor:
    return Actor(tenant_id=device.tenant_id, name=f"device:{device.name}")


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def issue_registry_auth(
    session: AsyncSession,
    *,
    device: DeviceIdentity,
    request: wire.RegistryAuthRequest,
    keyring: Keyring,
) -> wire.RegistryAuthResponse:
    known = await reports.device_containers(session, device_id=device.id)
    container = known.get((_uuid(request.deployment_id), _uuid(request.container_id)))  # type: ignore[arg-type]
    if container is None:
        raise ContainerNotDeployed(
            f"container {request.container_id} is not part of deployment {request.deployment_id} "
            "of this device"
        )
    if container.image_credentials_id is None:
        if container.credentials_deleted_at is not None:
            # Named by id: labels are for people and never sent to a device. The deployment
            # page shows people the label next to this message.
            raise CredentialsDeleted(
                f"the image credentials {container.credentials_deleted_id} that container "
                f"{container.name!r} ({container.image}) needs were deleted on "
                f"{container.credentials_deleted_at:%Y-%m-%d %H:%M} UTC; make a new release "
                "that uses other credentials"
            )
        raise NoCredentialsNeeded(f"container {container.name!r} needs no image credentials")
    credential = await credential_service.get(
        session, tenant_id=device.tenant_id, credential_id=container.image_credentials_id
    )
    value, serveraddress = registry_auth.for_image(
        container.image_canonical,
        username=credential.username,
        password=credential_service.reveal(credential, keyring=keyring),
    )
    await audit_service.record(
        session,
        actor=device_actor(device),
        action="registry_auth.issued",
        resource_type="deployment",
        resource_id=request.deployment_id,
        credentials_id=credential.id,
        device_id=device.id,
        summary=f"issued registry auth for {container.image} to device {device.name!r} "
        f"with credentials {credential.label!r}",
        details={
            "image": container.image_canonical,
            "serveraddress": serveraddress,
            "container": container.name,
            "label": credential.label,
        },
    )
    return wire.RegistryAuthResponse(
        x_registry_auth=value, serveraddress=serveraddress, expires_at=credential.expires_at
    )


async def apply_status(
    session: AsyncSession, *, device: DeviceIdentity, report: wire.StatusReport
) -> None:
    failures = await reports.apply(session, device_id=device.id, report=report)
    for event, container in failures:
        await audit_service.record(
            session,
            actor=device_actor(device),
            action="pull.failed",
            resource_type="deployment",
            resource_id=event.deployment_id,
            credentials_id=container.image_credentials_id if container else None,
            device_id=device.id,
            summary=f"device {device.name!r} failed to pull"
            + (f" {container.image}" if container else "")
            + f": {event.message}",
            details={
                "image": container.image_canonical if container else None,
                "message": event.message,
            },
        )
