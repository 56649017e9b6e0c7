"""Image credentials: create, find, search, delete (guarded), and key rotation.

There is deliberately no update: credentials are immutable, and rotating them means new
credentials, new releases that use them, and deleting the old ones.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import crypto, notify
from edgedock import references as image_references
from edgedock.actors import Actor
from edgedock.applications.models import Application
from edgedock.audit import service as audit_service
from edgedock.audit.models import AuditEvent
from edgedock.credentials import expiry, token_kinds
from edgedock.credentials.models import ImageCredential, secret_context
from edgedock.credentials.schemas import (
    CredentialCreate,
    CredentialRead,
    CredentialReference,
    ExpiryState,
    LastCheck,
    PulledBy,
    UsedBy,
)
from edgedock.db import find_owned, insert_unique, lock_owned, utcnow
from edgedock.devices.models import Device
from edgedock.errors import ConfigurationError, Conflict, Invalid, MethodNotAllowed, NotFound
from edgedock.pagination import Keyset, Page, SortKey, matching, named
from edgedock.read import in_use as deployed_with
from edgedock.read import release_use

# Reading release rows from here (and not through the releases service) keeps the service graph
# a DAG: releases → credentials. The models are read only, to list references.
from edgedock.releases.models import Release, ReleaseContainer
from edgedock.tenants import service as tenant_service
from edgedock.text import fold

ROTATION_ADVICE = (
    "image credentials cannot be changed; to rotate them, create new credentials, "
    "make new releases that use them, then delete the old ones"
)

ORDER = Keyset(
    "credentials",
    (SortKey(ImageCredential.label_key, "str"), SortKey(ImageCredential.id, "uuid")),
)


class CredentialNotFound(NotFound):
    code = "credentials_not_found"


class DuplicateLabel(Conflict):
    code = "duplicate_label"


class CredentialInUse(Conflict):
    code = "credentials_in_use"


class CredentialsImmutable(MethodNotAllowed):
    code = "credentials_immutable"


class RegistryMismatch(Invalid):
    code = "credentials_registry_mismatch"


def expiry_state(
    expires_at: datetime | None,
    *,
    warning: timedelta = expiry.DEFAULT_WARNING,
    now: datetime | None = None,
) -> ExpiryState | None:
    return expiry.state_of(expires_at, warning=warning, now=now)


def check_registry(credential: ImageCredential, *, image: str, domain: str, field: str) -> None:
    """Bound credentials go only to their own registry: a typo or a look-alike host in a
    release's image must not receive the password. Unbound credentials go anywhere."""
    bound, registry = credential.bound_registry, image_references.registry_of(domain)
    if bound is None or registry == bound:
        return
    raise RegistryMismatch(
        f"image {image!r} is on registry {registry}, but image credentials "
        f"{credential.label!r} ({credential.id}) are bound to registry {bound}; "
        f"pick credentials for {registry}",
        field=field,
    )


def to_read(
    credential: ImageCredential,
    *,
    use_count: int = 0,
    in_use_count: int = 0,
    used_by: list[UsedBy] | None = None,
    pulled_by: list[PulledBy] | None = None,
    warning: timedelta = expiry.DEFAULT_WARNING,
) -> CredentialRead:
    return CredentialRead(
        id=credential.id,
        label=credential.label,
        username=credential.username,
        fingerprint=credential.fingerprint,
        token_kind=credential.token_kind,
        expires_at=credential.expires_at,
        expires_at_source=credential.expires_at_source,
        expiry_state=expiry_state(credential.expires_at, warning=warning),
        registry=credential.bound_registry,
        created_at=credential.created_at,
        created_by=credential.created_by,
        use_count=use_count,
        in_use_count=in_use_count,
        last_check=last_check_of(credential),
        used_by=used_by,
        pulled_by=pulled_by,
    )


def last_check_of(credential: ImageCredential) -> LastCheck | None:
    if credential.last_check_at is None:
        return None
    return LastCheck(
        at=credential.last_check_at,
        ok=bool(credential.last_check_ok),
        status=credential.last_check_status or "",
        message=credential.last_check_message or "",
        image=credential.last_check_image,
        registry=credential.last_check_registry,
        can_push=credential.can_push,
    )


async def create(
    session: AsyncSession, *, actor: Actor, data: CredentialCreate, keyring: crypto.Keyring
) -> ImageCredential:
    password = data.password.get_secret_value().encode()
    label_key = fold(data.label)
    if await _label_taken(session, tenant_id=actor.tenant_id, label_key=label_key):
        raise DuplicateLabel(
            f"image credentials labelled {data.label!r} already exist", field="label"
        )
    facts = token_kinds.inspect(data.password.get_secret_value())
    expires_at, source = _earlier_expiry(token=facts.expires_at, given=data.expires_at)
    fingerprint_key = await tenant_service.fingerprint_key(
        session, tenant_id=actor.tenant_id, keyring=keyring
    )
    credential = ImageCredential(
        id=uuid.uuid4(),
        tenant_id=actor.tenant_id,
        label=data.label,
        label_key=label_key,
        username=data.username,
        fingerprint=crypto.fingerprint(fingerprint_key, password),
        token_kind=facts.kind,
        expires_at=expires_at,
        expires_at_source=source,
        bound_registry=data.registry,
        created_by=actor.name,
    )
    sealed = keyring.seal(password, context=credential.aad)
    credential.secret_key_id, credential.secret = sealed.key_id, sealed.blob
    await insert_unique(
        session,
        credential,
        duplicate=DuplicateLabel(
            f"image credentials labelled {data.label!r} already exist", field="label"
        ),
    )
    await audit_service.record(
        session,
        actor=actor,
        action="credentials.created",
        resource_type="image_credentials",
        resource_id=credential.id,
        credentials_id=credential.id,
        summary=f"created image credentials {credential.label!r} for user {credential.username!r}",
        details={
            "label": credential.label,
            "username": credential.username,
            "fingerprint": credential.fingerprint,
            "registry": credential.bound_registry,
            "expires_at": expires_at.isoformat() if expires_at else None,
            "expires_at_source": source,
        },
    )
    return credential


def _earlier_expiry(
    *, token: datetime | None, given: datetime | None
) -> tuple[datetime | None, str | None]:
    """The token's own expiry and the creator's: the earlier is when the credentials stop."""
    if token is not None and (given is None or token <= given):
        return token, "token"
    if given is not None:
        return given, "given"
    return None, None


async def _label_taken(session: AsyncSession, *, tenant_id: uuid.UUID, label_key: str) -> bool:
    stmt = select(ImageCredential.id).where(
        ImageCredential.tenant_id == tenant_id, ImageCredential.label_key == label_key
    )
    return (await session.scalar(stmt)) is not None


async def find(
    session: AsyncSession, *, tenant_id: uuid.UUID, credential_id: uuid.UUID
) -> ImageCredential | None:
    return await find_owned(session, ImageCredential, tenant_id=tenant_id, row_id=credential_id)


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, credential_id: uuid.UUID
) -> ImageCredential:
    credential = await find(session, tenant_id=tenant_id, credential_id=credential_id)
    if credential is None:
        raise CredentialNotFound(f"image credentials {credential_id} do not exist")
    return credential


async def search(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    q: str | None = None,
    label: str | None = None,
    state: ExpiryState | None = None,
    limit: int = 50,
    cursor: str | None = None,
    warning: timedelta = expiry.DEFAULT_WARNING,
) -> Page[CredentialRead]:
    """Ordered by label, case-insensitively; `q` matches label or username, `label` all of the
    label, `state` the expiry state now (a condition in the query, so cursors stay exact)."""
    now = utcnow()
    stmt = select(ImageCredential).where(ImageCredential.tenant_id == tenant_id)
    stmt = matching(stmt, q, ImageCredential.label_key, func.lower(ImageCredential.username))
    stmt = named(stmt, label, ImageCredential.label_key, field="label")
    if state is not None:
        stmt = stmt.where(expiry.condition(state, warning=warning, now=now))
    stmt = ORDER.apply(stmt, cursor=cursor, limit=limit)
    page, next_cursor = ORDER.split((await session.scalars(stmt)).all(), limit=limit)
    ids = [c.id for c in page]
    used = await references_of(session, tenant_id=tenant_id, credential_ids=ids)
    in_use = await release_use.in_use_counts(session, tenant_id=tenant_id, credential_ids=ids)
    items = [
        to_read(
            c,
            use_count=len(used[c.id]),
            in_use_count=in_use[c.id],
            used_by=used[c.id],
            warning=warning,
        )
        for c in page
    ]
    return Page[CredentialRead](items=items, next_cursor=next_cursor)


async def references_of(
    session: AsyncSession, *, tenant_id: uuid.UUID, credential_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[UsedBy]]:
    """Every container of a release that uses each of the credentials, in one query."""
    if not credential_ids:
        return {}
    stmt = (
        select(ReleaseContainer, Release, Application)
        .join(Release, ReleaseContainer.release_id == Release.id)
        .join(Application, Release.application_id == Application.id)
        .where(
            Release.tenant_id == tenant_id,
            ReleaseContainer.image_credentials_id.in_(credential_ids),
        )
        .order_by(Application.name_key, Release.created_at, ReleaseContainer.position)
    )
    found: dict[uuid.UUID, list[UsedBy]] = {cid: [] for cid in credential_ids}
    for container, release, app in (await session.execute(stmt)).all():
        assert container.image_credentials_id is not None  # selected by it
        found[container.image_credentials_id].append(
            UsedBy(
                application_id=app.id,
                application=app.name,
                release_id=release.id,
                version=release.version,
                container_id=container.id,
                container=container.name,
                image=container.image,
            )
        )
    return found


async def references(
    session: AsyncSession, *, tenant_id: uuid.UUID, credential_id: uuid.UUID
) -> list[UsedBy]:
    found = await references_of(session, tenant_id=tenant_id, credential_ids=[credential_id])
    return found[credential_id]


async def pulled_by(
    session: AsyncSession, *, tenant_id: uuid.UUID, credential_id: uuid.UUID
) -> list[PulledBy]:
    """Which devices last pulled with these credentials, from the audit trail.

    Pulls the devices reported as done (`pull.succeeded`), not the registry auths issued: a
    device whose every pull is refused has not pulled with them.
    """
    latest = (
        select(AuditEvent.device_id, func.max(AuditEvent.seq).label("seq"))
        .where(
            AuditEvent.tenant_id == tenant_id,
            AuditEvent.credentials_id == credential_id,
            AuditEvent.action == "pull.succeeded",
        )
        .group_by(AuditEvent.device_id)
        .subquery()
    )
    stmt = (
        select(AuditEvent, Device.name)
        .join(latest, AuditEvent.seq == latest.c.seq)
        .join(Device, Device.id == AuditEvent.device_id)
        .order_by(AuditEvent.seq.desc())
    )
    return [
        PulledBy(
            device_id=event.device_id,
            device=name,
            last_pulled_at=event.at,
            image=event.details.get("image"),
        )
        for event, name in (await session.execute(stmt)).all()
        if event.device_id is not None
    ]


async def read_detail(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    credential_id: uuid.UUID,
    warning: timedelta = expiry.DEFAULT_WARNING,
) -> CredentialRead:
    credential = await get(session, tenant_id=tenant_id, credential_id=credential_id)
    used_by = await references(session, tenant_id=tenant_id, credential_id=credential_id)
    pulled = await pulled_by(session, tenant_id=tenant_id, credential_id=credential_id)
    in_use = await release_use.in_use_counts(
        session, tenant_id=tenant_id, credential_ids=[credential_id]
    )
    return to_read(
        credential,
        use_count=len(used_by),
        in_use_count=in_use[credential_id],
        used_by=used_by,
        pulled_by=pulled,
        warning=warning,
    )


async def delete(
    session: AsyncSession, *, actor: Actor, credential_id: uuid.UUID, force: bool = False
) -> None:
    """Delete; while a deployed release or an application's highest version uses the
    credentials, only with `force`. Older releases that still name them (history, such as the
    releases a replace left behind) do not stop an unforced delete.

    Every referencing container gets a tombstone (label and time), so a later pull can say which
    credentials are gone instead of failing with a bare 401.

    The applications that have releases naming the credentials are locked first (then the
    credentials row, the order release creates take them): no deploy or new highest release
    can slip in between the check and the delete. The row lock orders this delete with the
    release creates that name the credentials (they hold a shared lock on it): a create that
    came first is seen as a reference, one that comes after finds the credentials gone (404).
    Without it, the foreign key's ON DELETE SET NULL would silently strip a concurrent
    release's containers of their credentials, and a second concurrent delete would answer 204.
    """
    await release_use.lock_applications(
        session,
        application_ids=await release_use.applications_using(
            session, tenant_id=actor.tenant_id, credential_id=credential_id
        ),
    )
    credential = await lock_owned(
        session, ImageCredential, tenant_id=actor.tenant_id, row_id=credential_id
    )
    if credential is None:
        raise CredentialNotFound(f"image credentials {credential_id} do not exist")
    used_by = await references(session, tenant_id=actor.tenant_id, credential_id=credential_id)
    in_use = await release_use.current_uses(
        session, tenant_id=actor.tenant_id, credential_id=credential_id
    )
    if in_use and not force:
        _refuse_delete(credential, in_use)
    # Their devices' replicas forget what they cached about these credentials (pull_cache.py),
    # so the next pull hears 410 instead of being handed a password that was just deleted.
    for device_id in await deployed_with.devices_pulling_with(session, credential_id=credential.id):
        notify.mark(session, device_id)
    await session.execute(
        update(ReleaseContainer)
        .where(ReleaseContainer.image_credentials_id == credential.id)
        .values(
            credentials_deleted_at=utcnow(),
            credentials_label=credential.label,
            credentials_deleted_id=credential.id,
        )
    )
    await session.delete(credential)
    await session.flush()
    if in_use:
        note = f" (forced; {len(used_by)} container(s) referenced them)"
    elif used_by:
        note = f" ({len(used_by)} container(s) of older releases referenced them)"
    else:
        note = ""
    await audit_service.record(
        session,
        actor=actor,
        action="credentials.deleted",
        resource_type="image_credentials",
        resource_id=credential.id,
        credentials_id=credential.id,
        summary=f"deleted image credentials {credential.label!r}{note}",
        details={
            "label": credential.label,
            "forced": bool(in_use),
            "references": len(used_by),
        },
    )


def _refuse_delete(credential: ImageCredential, in_use: list[release_use.ReleaseUse]) -> None:
    refs = [
        CredentialReference(
            application=u.application,
            version=u.version,
            container=container,
            release_id=u.release_id,
        ).model_dump(mode="json")
        for u in in_use
        for container in u.containers
    ]
    raise CredentialInUse(
        f"image credentials {credential.label!r} are used by {len(refs)} container(s) of "
        "releases that are deployed or their application's highest version; replace them "
        f"with new credentials first (POST /api/v1/image-credentials/{credential.id}/replace), "
        "or delete "
        "with force=true to delete them anyway (later pulls that need them will fail)",
        details={"references": refs},
    )


def reveal(credential: ImageCredential, *, keyring: crypto.Keyring) -> str:
    """The password, for the one purpose it exists: registry auth handed to a device."""
    sealed = crypto.Sealed(credential.secret_key_id, credential.secret)
    return keyring.open(
        sealed, context=secret_context(credential.tenant_id, credential.id)
    ).decode()


async def rotate_keys(session: AsyncSession, *, keyring: crypto.Keyring) -> int:
    """Re-seal every stored secret under the keyring's current key; returns how many moved."""
    current = keyring.current_id
    moved = 0
    stmt = select(ImageCredential).where(ImageCredential.secret_key_id != current)
    for credential in (await session.scalars(stmt)).all():
        plaintext = keyring.open(
            crypto.Sealed(credential.secret_key_id, credential.secret), context=credential.aad
        )
        sealed = keyring.seal(plaintext, context=credential.aad)
        credential.secret_key_id, credential.secret = sealed.key_id, sealed.blob
        moved += 1
    moved += await tenant_service.rotate_fingerprint_keys(session, keyring=keyring)
    await session.flush()
    return moved


async def key_ids_in_use(session: AsyncSession) -> set[str]:
    credential_keys = await session.scalars(select(ImageCredential.secret_key_id).distinct())
    return set(credential_keys.all()) | await tenant_service.key_ids_in_use(session)


async def verify_keys(session: AsyncSession, *, keyring: crypto.Keyring) -> None:
    """Start-up check: every key id that stored secrets use is in the keyring, and opens them.

    One sealed value per key id is opened (the tenants' fingerprint keys, then one credential
    per key id), so a missing or wrong key stops the server before it serves, naming the key,
    instead of failing a device's registry auth in mid-request.
    """
    await tenant_service.verify_keys(session, keyring=keyring)
    key_ids = await session.scalars(select(ImageCredential.secret_key_id).distinct())
    for key_id in sorted(key_ids.all()):
        if key_id not in keyring.key_ids:
            raise ConfigurationError(
                f"secret key {key_id!r} is used by stored credentials but is not in the "
                "keyring (EDGEDOCK_SECRET_KEYS or the key file)"
            )
        sample = await session.scalar(
            select(ImageCredential).where(ImageCredential.secret_key_id == key_id).limit(1)
        )
        assert sample is not None
        try:
            reveal(sample, keyring=keyring)
        except crypto.SecretUndecryptable as exc:
            raise ConfigurationError(
                f"secret key {key_id!r} does not open the stored credentials: it is not the "
                "key they were sealed with"
            ) from exc
