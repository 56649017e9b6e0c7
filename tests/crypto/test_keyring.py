"""Encryption at rest: row binding, rotation, reload of an unknown key, start-up checks."""

from __future__ import annotations

import base64
import stat
import uuid

import pytest
from sqlalchemy import select

from edgedock import crypto
from edgedock.credentials import service as credential_service
from edgedock.credentials.models import ImageCredential
from edgedock.errors import ConfigurationError
from edgedock.server.app import check_startup
from tests import factories


def _key(key_id: str) -> str:
    return crypto.format_key(key_id, crypto.generate_key())


def test_seal_and_open_roundtrip_with_context():
    keyring = crypto.Keyring(crypto.EnvKeyStore(_key("k1")))
    sealed = keyring.seal(b"hunter2", context="row-a")
    assert b"hunter2" not in sealed.blob
    assert keyring.open(sealed, context="row-a") == b"hunter2"
    assert keyring.seal(b"hunter2", context="row-a").blob != sealed.blob, "fresh nonce per value"


def test_open_with_other_context_fails_clearly():
    keyring = crypto.Keyring(crypto.EnvKeyStore(_key("k1")))
    sealed = keyring.seal(b"hunter2", context="row-a")
    with pytest.raises(crypto.SecretUndecryptable, match="row-b"):
        keyring.open(sealed, context="row-b")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "k1",
        "k1:notbase64!",
        "k1:" + base64.b64encode(b"short").decode(),
        "bad id:" + base64.b64encode(b"k" * 32).decode(),
    ],
)
def test_parse_keyring_refuses_bad_entries(text):
    with pytest.raises(ConfigurationError):
        crypto.parse_keyring(text)


def test_key_file_is_created_owner_only(tmp_path):
    store = crypto.FileKeyStore(tmp_path / "keys")
    store.create()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert list(store.load()) == ["k1"]


def test_keyring_reloads_when_it_meets_an_unknown_key(tmp_path):
    store = crypto.FileKeyStore(tmp_path / "keys")
    store.create()
    old_server = crypto.Keyring(store)
    store.append("k2", crypto.generate_key())
    rotated = crypto.Keyring(store)
    sealed = rotated.seal(b"value", context="c")
    assert sealed.key_id == "k2"
    assert old_server.open(sealed, context="c") == b"value"
    assert old_server.current_id == "k2"


def test_unknown_key_after_reload_is_a_clear_error(tmp_path):
    keyring = crypto.Keyring(crypto.EnvKeyStore(_key("k1")))
    with pytest.raises(crypto.UnknownKey, match="k9"):
        keyring.open(crypto.Sealed("k9", b"\0" * 40), context="c")


async def test_ciphertext_copied_to_another_row_fails_to_decrypt(api, database, keyring, tenant):
    a = await factories.credentials(api, password="secret-of-a")
    b = await factories.credentials(api, password="secret-of-b")
    async with database.transaction() as session:
        row_a = await session.get(ImageCredential, uuid.UUID(a["id"]))
        row_b = await session.get(ImageCredential, uuid.UUID(b["id"]))
        row_b.secret, row_b.secret_key_id = row_a.secret, row_a.secret_key_id
    async with database.transaction() as session:
        row_b = await session.get(ImageCredential, uuid.UUID(b["id"]))
        with pytest.raises(crypto.SecretUndecryptable) as excinfo:
            credential_service.reveal(row_b, keyring=keyring)
        assert b["id"] in str(excinfo.value)
        assert "secret-of-a" not in str(excinfo.value)


async def test_rotate_keys_reencrypts_everything_and_old_key_can_go(database, tmp_path):
    store = crypto.FileKeyStore(tmp_path / "keys")
    store.create()
    keyring = crypto.Keyring(store)
    t = await factories.tenant(database, keyring, slug="rot")
    from edgedock.actors import Actor
    from edgedock.credentials.schemas import CredentialCreate

    actor = Actor(tenant_id=t.id, name="token:test")
    async with database.transaction() as session:
        created = [
            await credential_service.create(
                session,
                actor=actor,
                keyring=keyring,
                data=CredentialCreate(label=f"c{i}", username="u", password=f"pw-{i}"),  # type: ignore[arg-type]
            )
            for i in range(3)
        ]
        fingerprints = [c.fingerprint for c in created]
    store.append("k2", crypto.generate_key())
    keyring.reload()
    async with database.transaction() as session:
        moved = await credential_service.rotate_keys(session, keyring=keyring)
        assert "k1" not in await credential_service.key_ids_in_use(session)
    assert moved >= 4  # three credentials and the tenant's fingerprint key
    store.remove("k1")
    only_new = crypto.Keyring(store)
    async with database.transaction() as session:
        rows = (
            await session.scalars(
                select(ImageCredential)
                .where(ImageCredential.tenant_id == t.id)
                .order_by(ImageCredential.label)
            )
        ).all()
        assert [credential_service.reveal(r, keyring=only_new) for r in rows] == [
            "pw-0",
            "pw-1",
            "pw-2",
        ]
        more = await credential_service.create(
            session,
            actor=actor,
            keyring=only_new,
            data=CredentialCreate(label="after", username="u", password="pw-0"),  # type: ignore[arg-type]
        )
    assert more.fingerprint == fingerprints[0], "fingerprints survive key rotation"


async def test_startup_check_fails_clearly_when_key_is_missing(database, keyring):
    await factories.tenant(database, keyring, slug="keyed")
    other = crypto.Keyring(crypto.EnvKeyStore(_key("k7")))
    with pytest.raises(ConfigurationError, match="not in the keyring"):
        await check_startup(database, other)


async def test_startup_check_fails_clearly_when_key_is_wrong(database, keyring):
    await factories.tenant(database, keyring, slug="keyed")
    wrong = crypto.Keyring(crypto.EnvKeyStore(_key(keyring.current_id)))
    with pytest.raises(ConfigurationError, match="does not open"):
        await check_startup(database, wrong)


def test_running_keyring_seals_with_key_added_to_file(tmp_path):
    store = crypto.FileKeyStore(tmp_path / "keys")
    store.create()
    server = crypto.Keyring(store)
    assert server.seal(b"x", context="c").key_id == "k1"
    store.append("k2", crypto.generate_key())
    assert server.seal(b"x", context="c").key_id == "k2"
