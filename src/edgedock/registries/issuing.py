"""The token endpoint behind a brokered registry's realm: who asks, and the token they get.

A login is either a device's pull secret (`edps_…`, from its registry auth) or a registry
account's secret (`edra_…`). The token's `access` is what was asked for, cut down to what that
login may do (tokens.py); it is signed with the registry's current key and audited (the
registry, who, which repositories and actions; never a secret), the audit rows written in
groups with the rest of the fleet's (audit/writer.py).

The hot path (a fleet pulling) costs one snapshot with two plain-column queries, an ES256
signature and a share of a group commit; the opened signing key is kept in memory by key row.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import crypto
from edgedock.actors import Actor
from edgedock.audit import service as audit_service
from edgedock.audit.writer import AuditWriter
from edgedock.db import Database, utcnow
from edgedock.errors import EdgedockError, Unauthorized
from edgedock.read import registry_grants
from edgedock.registries import accounts, pull_secrets, signing_keys, tokens
from edgedock.registries.models import BrokeredRegistry, RegistrySigningKey, signing_key_context
from edgedock.registries.service import RegistryNotFound, realm_url


class TokenRefused(Unauthorized):
    """401 with the Basic challenge a token endpoint answers (Docker's token spec)."""

    code = "unauthorized"

    def __init__(self, message: str, *, realm: str) -> None:
        super().__init__(message)
        self.challenge = f'Basic realm="{realm}", charset="UTF-8"'


class TokenRequestInvalid(EdgedockError):
    status = 400
    code = "invalid_request"


@dataclass(frozen=True)
class Login:
    username: str
    secret: str


def basic_login(authorization: str | None) -> Login | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, secret = decoded.partition(":")
    return Login(username, secret) if sep and secret else None


@dataclass(frozen=True, slots=True)
class _Registry:
    id: uuid.UUID
    tenant_id: uuid.UUID
    host: str
    service: str
    issuer: str
    key_id: uuid.UUID
    secret_key_id: str
    secret: bytes
    certificate: str


_REGISTRY = (
    select(
        BrokeredRegistry.id,
        BrokeredRegistry.tenant_id,
        BrokeredRegistry.host,
        BrokeredRegistry.service,
        BrokeredRegistry.issuer,
        RegistrySigningKey.id.label("key_id"),
        RegistrySigningKey.secret_key_id,
        RegistrySigningKey.secret,
        RegistrySigningKey.certificate,
    )
    .join(
        RegistrySigningKey,
        and_(
            RegistrySigningKey.registry_id == BrokeredRegistry.id,
            RegistrySigningKey.generation == BrokeredRegistry.current_generation,
        ),
    )
    .where(BrokeredRegistry.id == bindparam("registry_id"))
)


class SignerCache:
    """Opened signing keys by (key row, keyring key): rotation makes new rows, so no entry
    ever goes stale; the cache only has to stay small."""

    def __init__(self, keyring: crypto.Keyring, *, max_entries: int = 1000) -> None:
        self.keyring, self.max_entries = keyring, max_entries
        self._signers: dict[tuple[uuid.UUID, str], signing_keys.Signer] = {}

    def signer(self, registry: _Registry) -> signing_keys.Signer:
        key = (registry.key_id, registry.secret_key_id)
        found = self._signers.get(key)
        if found is None:
            context = signing_key_context(registry.tenant_id, registry.id, registry.key_id)
            der = self.keyring.open(
                crypto.Sealed(registry.secret_key_id, registry.secret), context=context
            )
            found = signing_keys.signer(der, registry.certificate)
            if len(self._signers) >= self.max_entries:
                self._signers.clear()
            self._signers[key] = found
        return found


@dataclass(frozen=True)
class TokenRequest:
    registry_id: str
    public_url: str
    service: str | None
    scopes: list[str]
    login: Login | None
    ttl: int


async def issue(
    database: Database, audit: AuditWriter, signers: SignerCache, *, request: TokenRequest
) -> dict[str, object]:
    try:
        registry_id = uuid.UUID(request.registry_id)
    except ValueError:
        raise RegistryNotFound(f"registry {request.registry_id} does not exist") from None
    realm = realm_url(request.public_url, registry_id)
    try:
        scopes = tokens.parse_scopes(request.scopes)
    except tokens.ScopeInvalid as exc:
        raise TokenRequestInvalid(str(exc), field="scope") from None
    now = utcnow()
    async with database.snapshot() as session:
        row = (await session.execute(_REGISTRY, {"registry_id": registry_id})).first()
        if row is None:
            raise RegistryNotFound(f"registry {registry_id} does not exist")
        registry = _Registry(**row._mapping)
        if request.service is not None and request.service != registry.service:
            raise TokenRequestInvalid(
                f"this realm issues tokens for service {registry.service!r}", field="service"
            )
        if request.login is None:
            raise TokenRefused("log in with a registry account or a pull secret", realm=realm)
        actor, subject, allowed, device_id = await _authenticate(
            session, registry, request.login, realm=realm
        )
    access = tokens.grant(scopes, allowed)
    claims = tokens.claims(
        issuer=registry.issuer,
        subject=subject,
        audience=registry.service,
        access=access,
        now=now,
        ttl=request.ttl,
    )
    token = signers.signer(registry).sign(claims)
    await audit.record(
        audit_service.values(
            actor=actor,
            action="registry_token.issued",
            resource_type="registry",
            resource_id=registry.id,
            device_id=device_id,
            summary=f"issued a registry token for {registry.host} to {subject}: "
            + _describe(access),
            details={
                "registry": registry.host,
                "subject": subject,
                "access": access,
                "asked": [f"{s.type}:{s.name}:{','.join(s.actions)}" for s in scopes],
                "jti": claims["jti"],
                "expires_in": request.ttl,
            },
        )
    )
    return tokens.answer(token, ttl=request.ttl, now=now)


def _describe(access: list[dict[str, object]]) -> str:
    parts = []
    for entry in access:
        actions = entry["actions"]
        names = ",".join(actions) if isinstance(actions, list) else str(actions)
        parts.append(f"{entry['name']} ({names})")
    return ", ".join(parts) or "no access"


async def _authenticate(
    session: AsyncSession, registry: _Registry, login: Login, *, realm: str
) -> tuple[Actor, str, tokens.Allowed, uuid.UUID | None]:
    refused = TokenRefused("incorrect username or secret", realm=realm)
    if pull_secrets.is_pull_secret(login.secret):
        grant = await registry_grants.find_device_grant(
            session,
            registry_id=registry.id,
            host=registry.host,
            secret_hash=crypto.token_hash(login.secret),
            now=utcnow(),
        )
        if grant is None or login.username != pull_secrets.device_username(grant.device_name):
            raise refused
        actor = Actor(tenant_id=registry.tenant_id, name=f"device:{grant.device_name}")
        return (
            actor,
            f"device:{grant.device_name}",
            tokens.device_allowed(set(grant.repositories)),
            grant.device_id,
        )
    account = await accounts.find_by_secret(session, registry_id=registry.id, secret=login.secret)
    if account is None or account.name != login.username:
        raise refused
    actor = Actor(tenant_id=registry.tenant_id, name=f"registry-account:{account.name}")
    return actor, account.name, tokens.account_allowed(account.access), None
