"""Brokered registry rows: the registry, its signing keys (sealed), accounts and pull secrets.

Secrets people and devices log in with are stored only as SHA-256 hashes (they are 256-bit
random values); signing keys are sealed by the keyring like every other stored secret.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edgedock.db import Base, CreatedAt, new_id


class BrokeredRegistry(CreatedAt, Base):
    __tablename__ = "brokered_registry"
    __table_args__ = (UniqueConstraint("tenant_id", "host"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    # references.normalize_registry form: what release images are matched against.
    host: Mapped[str] = mapped_column(String(255))
    service: Mapped[str] = mapped_column(String(255))
    issuer: Mapped[str] = mapped_column(String(255))
    # The generation of the key that signs now; generation + 1 is published ahead (see
    # signing_keys.py) so that a rotation needs no change on the registry's side.
    current_generation: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[str] = mapped_column(String(120))


class RegistrySigningKey(CreatedAt, Base):
    __tablename__ = "registry_signing_key"
    __table_args__ = (UniqueConstraint("registry_id", "generation"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    registry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("brokered_registry.id", ondelete="CASCADE")
    )
    generation: Mapped[int]
    secret_key_id: Mapped[str] = mapped_column(String(32))
    secret: Mapped[bytes]  # the sealed PKCS#8 DER private key
    certificate: Mapped[str] = mapped_column(String(2000))  # PEM, public
    kid: Mapped[str] = mapped_column(String(64))  # libtrust fingerprint

    @property
    def aad(self) -> str:
        return signing_key_context(self.tenant_id, self.registry_id, self.id)


def signing_key_context(tenant_id: uuid.UUID, registry_id: uuid.UUID, key_id: uuid.UUID) -> str:
    return f"registry_signing_key:{tenant_id}:{registry_id}:{key_id}"


class RegistryAccount(CreatedAt, Base):
    __tablename__ = "registry_account"
    __table_args__ = (UniqueConstraint("registry_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    registry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("brokered_registry.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # [{"repository": "team/*", "actions": ["pull", "push"]}, …]
    access: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(120))


class RegistryPullSecret(Base):
    """A device's secret for the token requests of one pull: minutes long, then useless.

    Bound to the deployment it was issued for: deleting the deployment or the device deletes
    the secret with it (the foreign keys cascade), so the next token request fails.
    """

    __tablename__ = "registry_pull_secret"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    registry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("brokered_registry.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), index=True
    )
    deployment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("deployment.id", ondelete="CASCADE"), index=True
    )
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    repository: Mapped[str] = mapped_column(String(600))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
