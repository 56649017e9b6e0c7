"""Secrets at rest: a keyring of versioned AES-256-GCM keys, and keyed fingerprints.

Every value is sealed with a fresh 96-bit nonce and bound to the row it belongs to through the
associated data, so a ciphertext copied onto another row fails to open. The key id travels
beside the ciphertext, which lets `keys rotate` re-encrypt row by row while servers keep
serving: a server that meets a key id it does not know reloads its keyring once, then gives up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edgedock.errors import ConfigurationError, EdgedockError

KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class SecretUndecryptable(EdgedockError):
    """A stored secret does not open: copied from another row, tampered with, or a wrong key."""

    status = 500
    code = "secret_undecryptable"


class UnknownKey(SecretUndecryptable):
    code = "unknown_secret_key"


@dataclass(frozen=True)
class Sealed:
    key_id: str
    blob: bytes  # nonce || ciphertext+tag


def parse_keyring(text: str) -> dict[str, bytes]:
    """Parse `id:base64key` entries separated by commas or new lines; the last is current."""
    keys: dict[str, bytes] = {}
    for raw in re.split(r"[,\n]", text):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not _KEY_ID.match(key_id):
            raise ConfigurationError(
                "secret keyring entry must look like `id:base64key` (id of letters, digits, - or _)"
            )
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except ValueError as exc:
            raise ConfigurationError(f"secret key {key_id!r} is not valid base64") from exc
        if len(key) != KEY_BYTES:
            raise ConfigurationError(f"secret key {key_id!r} must be {KEY_BYTES} bytes")
        keys[key_id] = key
    if not keys:
        raise ConfigurationError("the secret keyring is empty")
    return keys


def format_key(key_id: str, key: bytes) -> str:
    return f"{key_id}:{base64.b64encode(key).decode()}"


def generate_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


class KeyStore(Protocol):
    """Where the keyring comes from: the environment, or a key file in the data dir."""

    def load(self) -> dict[str, bytes]: ...

    def version(self) -> object:
        """Changes whenever the keys may have changed; cheap enough to ask before each seal."""
        ...


@dataclass(frozen=True)
class EnvKeyStore:
    text: str

    def load(self) -> dict[str, bytes]:
        return parse_keyring(self.text)

    def version(self) -> object:
        return None


@dataclass(frozen=True)
class FileKeyStore:
    """The key file: one `id:base64key` a line, owner-only, replaced whole on every change.

    Every write goes to a temporary file that is synced and then renamed over the key file
    (and the directory synced), so a crash, a kill or a full disk leaves the old file or the
    new one, never half of one, and a failed first start leaves no key file at all.
    """

    path: Path

    def load(self) -> dict[str, bytes]:
        try:
            text = self.path.read_text()
        except FileNotFoundError as exc:
            raise ConfigurationError(
                f"secret key file {self.path} does not exist: run `edgedock keys init` to "
                "create it (or set EDGEDOCK_SECRET_KEYS)"
            ) from exc
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read secret key file {self.path}: {exc.strerror}"
            ) from exc
        if not text.strip():
            raise ConfigurationError(
                f"secret key file {self.path} is empty (left by a failed first start?): "
                "run `edgedock keys init` to write a new key"
            )
        return parse_keyring(text)

    def version(self) -> object:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def is_empty(self) -> bool:
        try:
            return not self.path.read_text().strip()
        except FileNotFoundError:
            return False

    def create(self, *, replace_empty: bool = False) -> None:
        """Write a first key, readable by the owner only; never over an existing key file.

        `replace_empty` lets `keys init` repair an empty file: it held no key, so nothing
        that opened anything is lost.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = format_key("k1", generate_key()) + "\n"
        self._write(text, exclusive=not (replace_empty and self.is_empty()))

    def append(self, key_id: str, key: bytes) -> None:
        """Add a key as the new current one, whether or not the file ends with a new line."""
        if key_id in self.load():
            raise ConfigurationError(f"secret key {key_id!r} is already in {self.path}")
        text = self.path.read_text()
        if not text.endswith("\n"):
            text += "\n"
        self._write(text + format_key(key_id, key) + "\n")

    def remove(self, key_id: str) -> None:
        keys = self.load()
        keys.pop(key_id)
        self._write("".join(format_key(k, v) + "\n" for k, v in keys.items()))

    def _write(self, text: str, *, exclusive: bool = False) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            if exclusive:
                os.link(tmp, self.path)  # fails, atomically, when the key file exists
            else:
                os.replace(tmp, self.path)
            _sync_directory(self.path.parent)
        except FileExistsError as exc:
            raise ConfigurationError(f"{self.path} already exists") from exc
        except OSError as exc:
            raise ConfigurationError(
                f"cannot write secret key file {self.path}: {exc.strerror}"
            ) from exc
        finally:
            tmp.unlink(missing_ok=True)


def _sync_directory(path: Path) -> None:
    """Make a rename in `path` durable (POSIX: the rename lives in the directory's data)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Keyring:
    def __init__(self, store: KeyStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._version = store.version()
        self._keys = store.load()

    @property
    def current_id(self) -> str:
        return next(reversed(self._keys))

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def reload(self) -> None:
        with self._lock:
            self._version = self._store.version()
            self._keys = self._store.load()

    def seal(self, plaintext: bytes, *, context: str) -> Sealed:
        # After `keys rotate` adds a key, a running server must seal new values with it, or a
        # later `keys retire` could remove the key those values need.
        if self._store.version() != self._version:
            self.reload()
        key_id = self.current_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        blob = nonce + AESGCM(self._keys[key_id]).encrypt(nonce, plaintext, context.encode())
        return Sealed(key_id, blob)

    def open(self, sealed: Sealed, *, context: str) -> bytes:
        key = self._keys.get(sealed.key_id)
        if key is None:
            self.reload()
            key = self._keys.get(sealed.key_id)
        if key is None:
            raise UnknownKey(f"secret key {sealed.key_id!r} is not in the keyring ({context})")
        nonce, ciphertext = sealed.blob[:NONCE_BYTES], sealed.blob[NONCE_BYTES:]
        try:
            return AESGCM(key).decrypt(nonce, ciphertext, context.encode())
        except InvalidTag as exc:
            raise SecretUndecryptable(
                f"the stored secret of {context} does not decrypt: it was not sealed for this "
                "record, or the key is wrong"
            ) from exc


def fingerprint(key: bytes, secret: bytes) -> str:
    """A short keyed hash: stable for the same secret under one key, useless without the key."""
    digest = hmac.new(key, secret, hashlib.sha256).hexdigest()[:16]
    return "-".join(digest[i : i + 4] for i in range(0, 16, 4))


def token_hash(token: str) -> str:
    """API and device tokens are 256-bit random values: a plain SHA-256 is the right store."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def keystore_for(secret_keys: str | None, data_dir: Path) -> KeyStore:
    return EnvKeyStore(secret_keys) if secret_keys else FileKeyStore(data_dir / "secret-keys")
