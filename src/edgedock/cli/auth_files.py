"""Reading docker's ``config.json`` and podman's ``auth.json``: the logins people already have.

Pure: no process is run and no file is opened here except by :func:`read_auth_file`; which
entry needs a credential helper, and the helper protocol's reply, are decided here and acted on
by :mod:`edgedock.cli.credential_helpers`. Follows the docker CLI's ``configfile`` package:
``auth`` is standard base64 of ``user:password`` (split at the first colon, NULs trimmed),
``credHelpers`` wins over ``credsStore``, which wins over the file's own ``auths``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from edgedock import references

# What a helper answers as the user name when the secret is an identity token, not a password.
HELPER_TOKEN_USERNAME = "<token>"  # noqa: S105 (a marker, not a secret)


class AuthFileError(ValueError):
    """The file is not a docker/podman auth file; the message never quotes a secret."""


@dataclass(frozen=True)
class Login:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class AuthEntry:
    """One registry of the file, and how its login is had: here, from a helper, or not at all."""

    key: str  # as written in the file ("https://index.docker.io/v1/", "quay.io/team")
    name: str  # what it is labelled by: the registry, with a podman namespace when it has one
    registry: str | None  # normalized host, None when the key is not a registry at all
    login: Login | None = None
    helper: str | None = None  # ask `docker-credential-<helper> get` with `key`
    skipped: str | None = None  # why it cannot be imported


def default_paths(environ: Mapping[str, str], home: Path) -> list[Path]:
    """Where docker and podman keep logins, in the order the import looks for them.

    The files named by variables come first (``$REGISTRY_AUTH_FILE``, ``$DOCKER_CONFIG``), then
    podman's per-session file, then docker's default.
    """
    paths = []
    if environ.get("REGISTRY_AUTH_FILE"):
        paths.append(Path(environ["REGISTRY_AUTH_FILE"]))
    if environ.get("DOCKER_CONFIG"):
        paths.append(Path(environ["DOCKER_CONFIG"]) / "config.json")
    if environ.get("XDG_RUNTIME_DIR"):
        paths.append(Path(environ["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    paths.append(home / ".docker" / "config.json")
    return paths


@dataclass(frozen=True)
class AuthFile:
    entries: list[AuthEntry]
    creds_store: str | None  # the helper that holds every login the file does not name

    def with_store_list(self, listed: Mapping[str, str]) -> list[AuthEntry]:
        """Add the registries the ``credsStore`` helper's ``list`` names (URL → user name)."""
        known = {entry.registry or entry.key for entry in self.entries}
        extra = [_entry(key, {}, {}, self.creds_store) for key in listed if _same(key) not in known]
        return [*self.entries, *extra]


def read_auth_file(path: Path) -> AuthFile:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise AuthFileError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise AuthFileError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    return parse_auth_file(text, source=str(path))


def parse_auth_file(text: str, *, source: str = "the file") -> AuthFile:
    """Every registry the file knows, in file order: ``auths``, then ``credHelpers``' others."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise AuthFileError(f"{source} is not JSON (line {_line(exc)})") from None
    if not isinstance(document, dict):
        raise AuthFileError(f"{source} is not a docker config.json or podman auth.json object")
    auths = _mapping(document.get("auths", {}), "auths", source)
    helpers = _mapping(document.get("credHelpers", {}), "credHelpers", source)
    store = document.get("credsStore") or None
    if store is not None and not isinstance(store, str):
        raise AuthFileError(f"{source}: credsStore must be a helper name")
    entries = [_entry(key, value, helpers, store) for key, value in auths.items()]
    known = {entry.registry or entry.key for entry in entries}
    entries += [_entry(key, {}, helpers, store) for key in helpers if _same(key) not in known]
    return AuthFile(entries=entries, creds_store=store)


def decode_auth(value: str) -> Login:
    """``auth`` as docker writes it; raises :class:`AuthFileError` saying what is wrong."""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise AuthFileError("its auth value is not base64 of user:password") from None
    username, colon, password = decoded.partition(":")
    if not colon:
        raise AuthFileError("its auth value has no user:password colon")
    return Login(username=username, password=password.strip("\x00"))


def helper_reply(stdout: str) -> Login:
    """A helper's ``get`` answer (``{"ServerURL", "Username", "Secret"}``) as a login.

    Raises :class:`AuthFileError` when it is not one, or when it holds an identity token.
    """
    try:
        reply = json.loads(stdout)
    except ValueError:
        raise AuthFileError("the helper's answer is not JSON") from None
    if not isinstance(reply, dict):
        raise AuthFileError("the helper's answer is not a JSON object")
    username, secret = reply.get("Username"), reply.get("Secret")
    if not isinstance(username, str) or not isinstance(secret, str) or not secret:
        raise AuthFileError("the helper's answer has no Username and Secret")
    if username == HELPER_TOKEN_USERNAME:
        raise AuthFileError(
            "the helper holds an identity token (OAuth refresh token), not a password"
        )
    return Login(username=username, password=secret)


def helper_list_reply(stdout: str) -> dict[str, str]:
    try:
        reply = json.loads(stdout)
    except ValueError:
        raise AuthFileError("the helper's list answer is not JSON") from None
    if not isinstance(reply, dict) or not all(isinstance(k, str) for k in reply):
        raise AuthFileError("the helper's list answer is not a JSON object")
    return {key: str(value) for key, value in reply.items()}


def _entry(key: str, value: object, helpers: Mapping[str, object], store: str | None) -> AuthEntry:
    try:
        registry, name = _registry_and_name(key)
    except ValueError as exc:
        return AuthEntry(key=key, name=key, registry=None, skipped=f"not a registry: {exc}")
    helper = helpers.get(key) or _helper_for(registry, helpers) or store
    if helper:
        if not isinstance(helper, str):
            return AuthEntry(key, name, registry, skipped="its credHelpers value is not a name")
        return AuthEntry(key, name, registry, helper=helper)
    if not isinstance(value, dict):
        return AuthEntry(key, name, registry, skipped="its entry is not a JSON object")
    if value.get("identitytoken"):
        return AuthEntry(
            key,
            name,
            registry,
            skipped="holds an identity token (OAuth refresh token), not a password",
        )
    if value.get("registrytoken"):
        return AuthEntry(
            key, name, registry, skipped="holds a registry bearer token, not a password"
        )
    auth = value.get("auth")
    if isinstance(auth, str) and auth.strip():
        try:
            login = decode_auth(auth)
        except AuthFileError as exc:
            return AuthEntry(key, name, registry, skipped=str(exc))
    elif isinstance(value.get("username"), str) and isinstance(value.get("password"), str):
        login = Login(username=value["username"], password=value["password"])
    else:
        return AuthEntry(key, name, registry, skipped="has no auth (user and password)")
    if not login.username or not login.password:
        return AuthEntry(key, name, registry, skipped="its user name or password is empty")
    return AuthEntry(key, name, registry, login=login)


def _registry_and_name(key: str) -> tuple[str, str]:
    """Docker's keys are URLs whose path means nothing (``https://index.docker.io/v1/``);
    podman's may carry a namespace (``quay.io/team``), kept in the name it is labelled by."""
    registry = references.normalize_registry(key)
    stripped = key.strip()
    if "://" in stripped:
        return registry, registry
    _host, _slash, path = stripped.partition("/")
    path = path.strip("/")
    return registry, f"{registry}/{path}" if path else registry


def _same(key: str) -> str:
    """What tells two keys of one registry apart from others: the normalized host."""
    try:
        return references.normalize_registry(key)
    except ValueError:
        return key


def _helper_for(registry: str, helpers: Mapping[str, object]) -> object:
    for key, helper in helpers.items():
        try:
            if references.normalize_registry(key) == registry:
                return helper
        except ValueError:
            continue
    return None


def _mapping(value: object, what: str, source: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise AuthFileError(f"{source}: {what} must be a JSON object")
    return {str(key): item for key, item in value.items()}


def _line(exc: ValueError) -> int:
    return getattr(exc, "lineno", 0) or 0
