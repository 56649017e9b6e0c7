"""The Docker Engine API's X-Registry-Auth header value, and which registry key it is for.

The server encodes and the agent decodes, so the encoding lives in one place. It is fixed byte
for byte (see `shared/conformance/registry-auth.jsonl`): the engine refuses the standard base64
alphabet for some passwords and refuses unpadded values, while the decoder accepts both so that
values produced by other tools still work.
"""

from __future__ import annotations

import base64
import binascii
import json

from edgedock import references

DOCKER_HUB_SERVER_ADDRESS = "https://index.docker.io/v1/"

_TO_STANDARD_ALPHABET = str.maketrans("-_", "+/")


def server_address(domain: str) -> str:
    """The credentials key (`serveraddress`) of a registry domain, as the engine looks it up."""
    if domain in (references.DEFAULT_DOMAIN, references.LEGACY_DEFAULT_DOMAIN):
        return DOCKER_HUB_SERVER_ADDRESS
    return domain


def encode(*, username: str, password: str, serveraddress: str) -> str:
    payload = json.dumps(
        {"username": username, "password": password, "serveraddress": serveraddress},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii")


def decode(value: str) -> dict[str, str]:
    """Decode leniently: either base64 alphabet, padding optional, keys in any letter case.

    Keys come back lower-cased. Error messages never quote the value or what it decodes to,
    because both carry a password; the original exception is suppressed for the same reason.
    """
    text = value.strip().rstrip("=").translate(_TO_STANDARD_ALPHABET)
    if len(text) % 4 == 1:
        raise ValueError("X-Registry-Auth is not valid base64 (bad length)")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        raise ValueError("X-Registry-Auth is not valid base64") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("X-Registry-Auth does not decode to UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise ValueError("X-Registry-Auth does not decode to a JSON object")
    result: dict[str, str] = {}
    # Keys are not quoted in these messages either: a malformed value may hold anything.
    for key, item in data.items():
        if not isinstance(item, str):
            raise ValueError("X-Registry-Auth has a field whose value is not a string")
        if key.lower() in result:
            raise ValueError("X-Registry-Auth has the same field twice in different letter case")
        result[key.lower()] = item
    return result


def for_image(image: str, *, username: str, password: str) -> tuple[str, str]:
    """Return `(x_registry_auth, serveraddress)` for pulling `image` with these credentials.

    Raises `references.InvalidReference` when `image` is not a valid reference.
    """
    address = server_address(references.parse(image).domain)
    return encode(username=username, password=password, serveraddress=address), address
