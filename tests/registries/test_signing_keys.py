"""Signing keys at rest and through rotation: sealed by the keyring, bundle roles, start-up check."""

from __future__ import annotations

import base64
import secrets

import pytest
from sqlalchemy import select

from edgedock import crypto
from edgedock.actors import Actor
from edgedock.errors import ConfigurationError
from edgedock.registries import service as registry_service
from edgedock.registries.models import RegistrySigningKey
from edgedock.registries.schemas import RegistryCreate
from edgedock.server.app import check_startup


def _keyring(*ids: str) -> crypto.Keyring:
    text = ",".join(f"{i}:{base64.b64encode(secrets.token_bytes(32)).decode()}" for i in ids)
    return crypto.Keyring(crypto.EnvKeyStore(text))


async def _registry(session, tenant, keyring):
    actor = Actor(tenant_id=tenant.id, name="test")
    return await registry_service.create(
        session, actor=actor, data=RegistryCreate(host="keys.example"), keyring=keyring
    )


async def test_private_keys_are_stored_sealed_and_bound_to_their_row(database, tenant, keyring):
    async with database.transaction() as session:
        registry = await _registry(session, tenant, keyring)
        rows = (await session.scalars(select(RegistrySigningKey))).all()
    assert [r.generation for r in sorted(rows, key=lambda r: r.generation)] == [1, 2]
    first, second = rows
    assert b"PRIVATE KEY" not in first.secret and first.secret_key_id == keyring.current_id
    keyring.open(crypto.Sealed(first.secret_key_id, first.secret), context=first.aad)
    with pytest.raises(crypto.SecretUndecryptable):
        keyring.open(crypto.Sealed(first.secret_key_id, first.secret), context=second.aad)
    assert registry.current_generation == 1


async def test_rotation_moves_to_the_next_key_and_keeps_the_previous(database, tenant):
    old = _keyring("k1")
    async with database.transaction() as session:
        registry = await _registry(session, tenant, old)
        before = await registry_service.certificates(session, registry=registry)
    new = _keyring("k1", "k2")
    new._keys["k1"] = old._keys["k1"]  # the same k1, with k2 added as current
    for _ in range(2):
        async with database.transaction() as session:
            await registry_service.rotate_keys(session, keyring=new)
    async with database.transaction() as session:
        registry = await registry_service.get(session, tenant_id=tenant.id, registry_id=registry.id)
        after = await registry_service.certificates(session, registry=registry)
        in_use = await registry_service.key_ids_in_use(session)
    assert registry.current_generation == 3
    assert [(c.generation, c.role) for c in after] == [(2, "previous"), (3, "current"), (4, "next")]
    assert before[1].certificate == after[0].certificate, "the old next key signed, now previous"
    assert in_use == {"k2"}, "every signing key is sealed under the current keyring key"


async def test_startup_refuses_a_keyring_without_the_signing_keys_key(database, tenant, keyring):
    async with database.transaction() as session:
        await _registry(session, tenant, keyring)
    async with database.transaction() as session:
        await registry_service.verify_keys(session, keyring=keyring)
        with pytest.raises(ConfigurationError, match="used by registry signing keys"):
            await registry_service.verify_keys(session, keyring=_keyring("other"))
        with pytest.raises(ConfigurationError, match="does not open the registry signing keys"):
            await registry_service.verify_keys(session, keyring=_keyring(keyring.current_id))
    # The server's start-up check includes it (it stops at the first key that is wrong).
    with pytest.raises(ConfigurationError):
        await check_startup(database, _keyring(keyring.current_id))
